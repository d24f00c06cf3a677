# expect_equal_fields(A B TOLERANCE WHAT): the data-set files A and B (paths
# relative to WORKDIR) hold the same fields within TOLERANCE (0: bit for bit),
# checked by COMPARE (compare_field_files); otherwise the test fails with
# "WHAT:" and the tool's report.
function(expect_equal_fields _a _b _tolerance _what)
  execute_process(COMMAND ${COMPARE} ${_a} ${_b} ${_tolerance} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "${_what}:\n${_output}\n${_error}")
  endif()
  message(STATUS "${_a} = ${_b}: ${_output}")
endfunction()
