# Training killed at pseudo-random moments resumes each time and ends with the
# weights of an uninterrupted run.
#
# In WORKDIR: generate the miniature's data, train it uninterrupted (1000 steps,
# a checkpoint after every step, so that kills also land inside checkpoint
# writes), then train the same run again under a wall-clock limit: CMake kills
# `ddo train` (SIGKILL) when the limit passes, and the next attempt resumes
# from whatever the killed one left. The final `weights.pt` and `ema.pt` must
# equal the uninterrupted run's byte for byte, and the log must show that runs
# were killed and resumed.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})

file(READ ${PRM} _text)
string(REPLACE "set Number of steps = 4\n  set Batch size" "set Number of steps = 1000\n  set Batch size" _text "${_text}")
string(REPLACE "set Checkpoint interval = 2" "set Checkpoint interval = 1" _text "${_text}")
string(REPLACE "set Log interval = 2" "set Log interval = 100" _text "${_text}")
if(NOT _text MATCHES "Number of steps = 1000" OR NOT _text MATCHES "Checkpoint interval = 1")
  message(FATAL_ERROR "the miniature's parameter file no longer has the expected training entries")
endif()
string(REPLACE "Checkpoint directory = checkpoint" "Checkpoint directory = uninterrupted" _full "${_text}")
string(REPLACE "Checkpoint directory = checkpoint" "Checkpoint directory = killed" _killed "${_text}")
file(WRITE ${WORKDIR}/uninterrupted.prm "${_full}")
file(WRITE ${WORKDIR}/killed.prm "${_killed}")

function(run_or_fail)
  execute_process(COMMAND ${DDO} ${ARGN} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "ddo ${ARGN} failed (${_result}):\n${_output}\n${_error}")
  endif()
endfunction()
run_or_fail(generate uninterrupted.prm)
string(TIMESTAMP _start "%s")
run_or_fail(train uninterrupted.prm)
string(TIMESTAMP _end "%s")
math(EXPR _wall "${_end} - ${_start}")
if(_wall LESS 1)
  set(_wall 1)
endif()
message(STATUS "uninterrupted training: about ${_wall} s")

# Kill after a wall time drawn from a fixed seed until a run finishes on its
# own (at most 30 attempts): the first three after 0.2 to 0.35 times the
# uninterrupted time (start-up included), so that each gets past the start-up
# and none can finish, then after 0.2 to 1.2 times it.
string(RANDOM LENGTH 1 RANDOM_SEED 2024 _unused)
set(_killed_runs 0)
set(_resumed_runs 0)
foreach(_attempt RANGE 1 30)
  string(RANDOM LENGTH 1 ALPHABET 0123456789 _tens)
  string(RANDOM LENGTH 1 ALPHABET 0123456789 _units)
  if(_attempt LESS 4)
    math(EXPR _tenths "${_wall} * 2 + ${_wall} * 3 * (10 * ${_tens} + ${_units}) / 200")
  else()
    math(EXPR _tenths "${_wall} * 2 + ${_wall} * (10 * ${_tens} + ${_units}) / 10")
  endif()
  math(EXPR _seconds "${_tenths} / 10")
  math(EXPR _fraction "${_tenths} % 10")
  execute_process(COMMAND ${DDO} train killed.prm WORKING_DIRECTORY ${WORKDIR}
    TIMEOUT ${_seconds}.${_fraction}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(_output MATCHES "Resuming from <killed> at step ([0-9]+)")
    math(EXPR _resumed_runs "${_resumed_runs} + 1")
    set(_from " (resumed at step ${CMAKE_MATCH_1})")
  else()
    set(_from "")
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
  message(FATAL_ERROR "training did not finish in 30 attempts")
endif()
if(_killed_runs LESS 3 OR _resumed_runs LESS 2)
  message(FATAL_ERROR "only ${_killed_runs} runs were killed and ${_resumed_runs} resumed: the test did not test")
endif()

foreach(_file weights.pt ema.pt)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
    ${WORKDIR}/uninterrupted/${_file} ${WORKDIR}/killed/${_file} RESULT_VARIABLE _different)
  if(_different)
    message(FATAL_ERROR "${_file} after ${_killed_runs} kills differs from the uninterrupted run's")
  endif()
endforeach()
message(STATUS "${_killed_runs} kills, ${_resumed_runs} resumptions: weights.pt and ema.pt equal the uninterrupted run's")
