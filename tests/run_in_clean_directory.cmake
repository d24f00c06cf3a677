# Runs PROGRAM with the argument ARGUMENT in a new, empty WORKDIR, so that
# nothing of an earlier run (a checkpoint) is reused; fails if it fails.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
execute_process(COMMAND ${PROGRAM} ${ARGUMENT} WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
file(WRITE ${WORKDIR}/output.log "${_output}\n${_error}")
message("${_output}")
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "${PROGRAM} failed (${_result}):\n${_error}")
endif()
