# Compile and link a target against deal.II the way deal.II itself would, but
# with usage requirements that survive export: include directories, C++17 and
# the deal.II library target become INTERFACE properties of ddo::ddo.
function(ddo_setup_target _target)
  get_target_property(_type ${_target} TYPE)
  target_compile_features(${_target} PUBLIC cxx_std_17)
  target_include_directories(${_target} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_include_directories(${_target} SYSTEM PUBLIC ${DEAL_II_INCLUDE_DIRS})
  if(CMAKE_BUILD_TYPE STREQUAL "Debug")
    target_link_libraries(${_target} PUBLIC ${DEAL_II_TARGET_DEBUG})
    target_compile_definitions(${_target} PUBLIC DEBUG)
  else()
    target_link_libraries(${_target} PUBLIC ${DEAL_II_TARGET_RELEASE})
  endif()
  target_compile_options(${_target} PRIVATE -Wall -Wextra -Wno-unused-parameter
    -Wno-deprecated-declarations)
  if(DDO_SANITIZE)
    target_compile_options(${_target} PRIVATE -fsanitize=address,undefined
      -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
    target_link_options(${_target} PUBLIC -fsanitize=address,undefined)
  endif()
  # Everything compiled with -fPIC (executables too, not -fPIE): one
  # precompiled header then serves all targets.
  if(_type STREQUAL "EXECUTABLE")
    target_compile_options(${_target} PRIVATE -fPIC)
  else()
    set_target_properties(${_target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  endif()
endfunction()
