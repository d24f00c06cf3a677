# kill_until_finished(COMMAND PRM WALL RESUME_REGEX): runs `ddo COMMAND PRM`
# in WORKDIR again and again, killing it (SIGKILL, by execute_process's
# TIMEOUT) after a wall time drawn from a fixed seed, until a run finishes on
# its own (at most 30 attempts). The first three runs are killed after 0.2 to
# 0.35 times WALL (the seconds an uninterrupted run takes, start-up
# included), so that each gets past the start-up and none can finish; later
# ones after 0.2 to 1.2 times WALL. A run that does not resume shows that
# the kill before it came before the first checkpoint (the start-up took
# longer than when WALL was measured: a loaded machine), so every later kill
# comes 0.2 WALL later than drawn, once more for each such run. Fails unless
# at least three runs were killed and two of the later runs printed
# RESUME_REGEX (they resumed).
function(kill_until_finished _command _prm _wall _resume_regex)
  string(RANDOM LENGTH 1 RANDOM_SEED 2024 _unused)
  set(_killed_runs 0)
  set(_resumed_runs 0)
  set(_delay 0) # tenths of a second added to the drawn times
  foreach(_attempt RANGE 1 30)
    string(RANDOM LENGTH 1 ALPHABET 0123456789 _tens)
    string(RANDOM LENGTH 1 ALPHABET 0123456789 _units)
    if(_attempt LESS 4)
      math(EXPR _tenths "${_wall} * 2 + ${_wall} * 3 * (10 * ${_tens} + ${_units}) / 200")
    else()
      math(EXPR _tenths "${_wall} * 2 + ${_wall} * (10 * ${_tens} + ${_units}) / 10")
    endif()
    math(EXPR _tenths "${_tenths} + ${_delay}")
    math(EXPR _seconds "${_tenths} / 10")
    math(EXPR _fraction "${_tenths} % 10")
    execute_process(COMMAND ${DDO} ${_command} ${_prm} WORKING_DIRECTORY ${WORKDIR}
      TIMEOUT ${_seconds}.${_fraction}
      RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
    if(_output MATCHES "${_resume_regex}")
      math(EXPR _resumed_runs "${_resumed_runs} + 1")
      set(_from " (${CMAKE_MATCH_0})")
    else()
      set(_from "")
      if(_attempt GREATER 1)
        math(EXPR _delay "${_delay} + ${_wall} * 2")
        set(_from " (nothing to resume: later kills 0.2 WALL later)")
      endif()
    endif()
    if(_result EQUAL 0)
      message(STATUS "attempt ${_attempt}: finished${_from}")
      break()
    endif()
    if(NOT _result MATCHES "timeout|Process terminated")
      message(FATAL_ERROR "attempt ${_attempt} failed (${_result}), not killed:\n${_output}\n${_error}")
    endif()
    math(EXPR _killed_runs "${_killed_runs} + 1")
    message(STATUS "attempt ${_attempt}: killed after ${_seconds}.${_fraction} s${_from}")
  endforeach()
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "ddo ${_command} did not finish in 30 attempts")
  endif()
  if(_killed_runs LESS 3 OR _resumed_runs LESS 2)
    message(FATAL_ERROR "only ${_killed_runs} runs were killed and ${_resumed_runs} resumed: the test did not test")
  endif()
  set(KILLED_RUNS ${_killed_runs} PARENT_SCOPE)
  set(RESUMED_RUNS ${_resumed_runs} PARENT_SCOPE)
endfunction()


# The seconds `ddo COMMAND PRM` takes in WORKDIR (at least 1); fails if it fails.
function(time_uninterrupted _command _prm _variable)
  string(TIMESTAMP _start "%s")
  execute_process(COMMAND ${DDO} ${_command} ${_prm} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "ddo ${_command} ${_prm} failed (${_result}):\n${_output}\n${_error}")
  endif()
  string(TIMESTAMP _end "%s")
  math(EXPR _wall "${_end} - ${_start}")
  if(_wall LESS 1)
    set(_wall 1)
  endif()
  message(STATUS "uninterrupted ddo ${_command}: about ${_wall} s")
  set(${_variable} ${_wall} PARENT_SCOPE)
endfunction()
