# The LibTorch wall: no header outside include/ddo/torch/ and no source of the
# finite element half (source/ outside torch/ and driver/) includes a torch
# header, so that ddo_core builds without LibTorch.
#   cmake -DSOURCE_DIR=... -P check_torch_wall.cmake
file(GLOB_RECURSE _files ${SOURCE_DIR}/include/ddo/*.h ${SOURCE_DIR}/source/*.cc
  ${SOURCE_DIR}/examples/navier_stokes/*.h ${SOURCE_DIR}/examples/navier_stokes/*.cc)
set(_checked 0)
set(_offenders "")
foreach(_file ${_files})
  if(_file MATCHES "/include/ddo/torch/|/source/torch/|/source/driver/")
    continue()
  endif()
  math(EXPR _checked "${_checked} + 1")
  file(STRINGS ${_file} _includes REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"](torch/|ddo/torch/|ATen/|c10/)")
  if(_includes)
    list(APPEND _offenders "${_file}: ${_includes}")
  endif()
endforeach()
if(_offenders)
  string(REPLACE ";" "\n" _list "${_offenders}")
  message(FATAL_ERROR "Files of the finite element half include torch:\n${_list}")
endif()
if(_checked LESS 30)
  message(FATAL_ERROR "Only ${_checked} files checked: wrong SOURCE_DIR?")
endif()
message("torch wall holds: ${_checked} files of the finite element half include no torch header")
