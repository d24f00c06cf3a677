# Runs `ddo info PRM` in WORKDIR (with mpirun if NRANKS > 1; with PLUGIN for
# __PLUGIN__ in PRM) and compares its
# standard output with EXPECTED using numdiff (relative tolerance 1e-8), or,
# with EXPECT_FAILURE, checks that it fails (non-zero exit code) with an error
# message that matches EXPECT_REGEX. Either failure makes this script fail.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
# A parameter file that names __PLUGIN__ gets the test plugin library's path.
file(READ ${PRM} _prm_text)
if(_prm_text MATCHES "__PLUGIN__")
  string(REPLACE "__PLUGIN__" "${PLUGIN}" _prm_text "${_prm_text}")
  get_filename_component(_prm_name ${PRM} NAME)
  set(PRM ${WORKDIR}/${_prm_name})
  file(WRITE ${PRM} "${_prm_text}")
endif()
separate_arguments(_mpi UNIX_COMMAND "${MPIEXEC}")
if(NRANKS GREATER 1)
  set(_command ${_mpi} -np ${NRANKS} ${DDO} info ${PRM})
else()
  set(_command ${DDO} info ${PRM})
endif()
execute_process(COMMAND ${_command} WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
if(EXPECT_FAILURE)
  if(_result EQUAL 0)
    message(FATAL_ERROR "ddo succeeded on a parameter file it must reject:\n${_output}")
  endif()
  if(NOT "${_error}${_output}" MATCHES "${EXPECT_REGEX}")
    message(FATAL_ERROR "ddo failed (${_result}) without the expected message <${EXPECT_REGEX}>:\n${_output}\n${_error}")
  endif()
  message("ddo failed as expected (exit code ${_result}):\n${_error}")
  return()
endif()
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "ddo failed (${_result}):\n${_output}\n${_error}")
endif()
# Keep the deterministic part: drop the timing table and the source file name.
string(REGEX REPLACE "\n\n\\+---.*" "\n" _output "${_output}")
string(REGEX REPLACE "Function space of <[^>]*>" "Function space of <prm>" _output "${_output}")
file(WRITE ${WORKDIR}/stdout "${_output}")
execute_process(COMMAND ${NUMDIFF} -q -r 1e-8 -a 1e-12 -s " \t\n:()" ${EXPECTED} ${WORKDIR}/stdout
  RESULT_VARIABLE _diff)
if(NOT _diff EQUAL 0)
  execute_process(COMMAND ${NUMDIFF} -r 1e-8 -a 1e-12 -s " \t\n:()" ${EXPECTED} ${WORKDIR}/stdout)
  message(FATAL_ERROR "Output differs from ${EXPECTED} (see above; actual output in ${WORKDIR}/stdout)")
endif()
