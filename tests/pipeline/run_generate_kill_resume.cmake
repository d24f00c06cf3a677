# Generation killed at pseudo-random moments resumes each time and ends with
# the data of an uninterrupted run, bitwise.
#
# In WORKDIR: the Navier-Stokes miniature with 40 slower fields (final time
# 400), generated uninterrupted, then generated again while CMake kills
# `ddo generate` (SIGKILL) at moments drawn from a fixed seed; every attempt
# resumes the `.partial` file the killed one left. The two training and test
# files must be equal row for row, bit for bit (COMPARE is
# compare_field_files): a kill loses only the field in progress, never a
# written row.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})

file(READ ${PRM} _text)
string(REGEX REPLACE "set Number of samples = 12\n" "set Number of samples = 40\n" _text "${_text}")
string(REPLACE "set Final time = 0.5" "set Final time = 400" _text "${_text}")
if(NOT _text MATCHES "Number of samples = 40" OR NOT _text MATCHES "Final time = 400")
  message(FATAL_ERROR "the Navier-Stokes miniature no longer has the expected Generate entries")
endif()
file(WRITE ${WORKDIR}/uninterrupted.prm "${_text}")
string(REPLACE "data/" "killed/" _killed "${_text}")
file(WRITE ${WORKDIR}/killed.prm "${_killed}")

include(${CMAKE_CURRENT_LIST_DIR}/kill_until_finished.cmake)
time_uninterrupted(generate uninterrupted.prm _wall)
kill_until_finished(generate killed.prm ${_wall} "[0-9]+ of [0-9]+ fields into <killed/[a-z]+.h5> .resuming.")

include(${CMAKE_CURRENT_LIST_DIR}/expect_equal_fields.cmake)
foreach(_file train.h5 test.h5)
  expect_equal_fields(data/${_file} killed/${_file} 0
    "${_file} after ${KILLED_RUNS} kills differs from the uninterrupted run's")
endforeach()
message(STATUS "${KILLED_RUNS} kills, ${RESUMED_RUNS} resumptions: the data equal the uninterrupted run's bitwise")
