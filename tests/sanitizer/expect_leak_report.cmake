# Runs PROGRAM with the argument "leak" and passes only if it fails (non-zero
# exit code) with LeakSanitizer's report of the 1234-byte block it lost.
execute_process(COMMAND ${PROGRAM} leak
  RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
if(_result EQUAL 0)
  message(FATAL_ERROR "the lost allocation was not reported (exit code 0):\n${_error}")
endif()
if(NOT _error MATCHES "LeakSanitizer: detected memory leaks"
   OR NOT _error MATCHES "Direct leak of 1234 byte")
  message(FATAL_ERROR "exit code ${_result} without the report of the lost block:\n${_error}")
endif()
message("reported as expected (exit code ${_result})")
