# Installs the built ddo into WORK_DIR/prefix, then configures, builds and runs
# examples/external_project against it with find_package(ddo): the way a
# deal.II application uses ddo.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE _r OUTPUT_QUIET)
if(NOT _r EQUAL 0)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/examples/external_project
  -B ${WORK_DIR}/build -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
  RESULT_VARIABLE _r)
if(NOT _r EQUAL 0)
  message(FATAL_ERROR "configuring the external project failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build -j2 RESULT_VARIABLE _r)
if(NOT _r EQUAL 0)
  message(FATAL_ERROR "building the external project failed")
endif()
execute_process(COMMAND ${WORK_DIR}/build/external_project_demo ${SOURCE_DIR}/examples/navier_stokes/model
  RESULT_VARIABLE _r OUTPUT_VARIABLE _out)
message("${_out}")
if(NOT _r EQUAL 0 OR NOT _out MATCHES "volume ok.*external project ok")
  message(FATAL_ERROR "the external project's program failed")
endif()
