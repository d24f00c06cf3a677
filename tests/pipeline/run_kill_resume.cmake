# Training killed at pseudo-random moments resumes each time and ends with the
# weights of an uninterrupted run.
#
# In WORKDIR: generate the miniature's data, train it uninterrupted (3000 steps, so that the start-up is a small part of a run;
# a checkpoint after every step, so that kills also land inside checkpoint
# writes), then train the same run again under a wall-clock limit: CMake kills
# `ddo train` (SIGKILL) when the limit passes, and the next attempt resumes
# from whatever the killed one left. The final `weights.pt` and `ema.pt` must
# equal the uninterrupted run's byte for byte, and the log must show that runs
# were killed and resumed.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})

file(READ ${PRM} _text)
string(REPLACE "set Number of steps = 4\n  set Batch size" "set Number of steps = 3000\n  set Batch size" _text "${_text}")
string(REPLACE "set Checkpoint interval = 2" "set Checkpoint interval = 1" _text "${_text}")
string(REPLACE "set Log interval = 2" "set Log interval = 100" _text "${_text}")
if(NOT _text MATCHES "Number of steps = 3000" OR NOT _text MATCHES "Checkpoint interval = 1")
  message(FATAL_ERROR "the miniature's parameter file no longer has the expected training entries")
endif()
string(REPLACE "Checkpoint directory = checkpoint" "Checkpoint directory = uninterrupted" _full "${_text}")
string(REPLACE "Checkpoint directory = checkpoint" "Checkpoint directory = killed" _killed "${_text}")
file(WRITE ${WORKDIR}/uninterrupted.prm "${_full}")
file(WRITE ${WORKDIR}/killed.prm "${_killed}")

include(${CMAKE_CURRENT_LIST_DIR}/kill_until_finished.cmake)
execute_process(COMMAND ${DDO} generate uninterrupted.prm WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "ddo generate failed (${_result}):\n${_output}\n${_error}")
endif()
time_uninterrupted(train uninterrupted.prm _wall)
kill_until_finished(train killed.prm ${_wall} "Resuming from <killed> at step [0-9]+")

foreach(_file weights.pt ema.pt)
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files
    ${WORKDIR}/uninterrupted/${_file} ${WORKDIR}/killed/${_file} RESULT_VARIABLE _different)
  if(_different)
    message(FATAL_ERROR "${_file} after ${KILLED_RUNS} kills differs from the uninterrupted run's")
  endif()
endforeach()
message(STATUS "${KILLED_RUNS} kills, ${RESUMED_RUNS} resumptions: weights.pt and ema.pt equal the uninterrupted run's")
