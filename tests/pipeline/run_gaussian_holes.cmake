# Runs tests/pipeline/gaussian_holes.prm in WORKDIR: generate and train on
# the mesh MESH, sample on it and zero-shot on its refinement, and checks
# each sample set with CHECK (exit code 0: every statistic within 3 standard
# errors of the exact value; bands above the training mesh's spectrum within
# 20%).
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
file(READ ${PRM} _text)
string(REPLACE "__MESH__" "${MESH}" _text "${_text}")

function(run _name _command)
  execute_process(COMMAND ${_command} ${ARGN} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  file(WRITE ${WORKDIR}/${_name}.log "${_output}\n${_error}")
  message(STATUS "${_name}:\n${_output}")
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "${_name} failed (${_result}):\n${_output}\n${_error}")
  endif()
endfunction()

foreach(_level 0 1)
  string(REPLACE "__REFINEMENTS__" "${_level}" _level_text "${_text}")
  string(REPLACE "output/samples" "output/samples_${_level}" _level_text "${_level_text}")
  file(WRITE ${WORKDIR}/level_${_level}.prm "${_level_text}")
endforeach()
run(generate ${DDO} generate level_0.prm)
run(train ${DDO} train level_0.prm)
foreach(_level 0 1)
  run(sample_${_level} ${DDO} sample level_${_level}.prm)
  run(check_${_level} ${CHECK} ${MESH} ${_level} 0 output/samples_${_level}.h5 1 0.2 1)
endforeach()
