# The workflow on two MPI ranks equals it on one, in WORKDIR:
# - generate on 1 rank and on 2 ranks: the data files bitwise equal;
# - train on 1 and on 2 ranks (each rank a slice of every batch), then sample
#   on 1 rank with either checkpoint: equal to rounding (the network computes
#   in float32, and 4 training steps amplify its rounding: 1e-5 relative);
# - sample with the 1-rank checkpoint on 2 ranks: equal to the 1-rank samples
#   to rounding;
# - generate and sample on a distributed mesh (not supported: the data sets
#   and the score model need the whole mesh on every rank) fail with a clear
#   message on every rank and end, instead of leaving a rank waiting.
# COMPARE is compare_field_files; MPIEXEC the MPI launcher; MESH, if set,
# replaces __MESH__ in PRM.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
separate_arguments(_mpi UNIX_COMMAND "${MPIEXEC}")

function(run_ddo _ranks _command _prm)
  if(_ranks GREATER 1)
    set(_launch ${_mpi} -np ${_ranks})
  else()
    set(_launch "")
  endif()
  execute_process(COMMAND ${_launch} ${DDO} ${_command} ${_prm} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "ddo ${_command} ${_prm} on ${_ranks} ranks failed (${_result}):\n${_output}\n${_error}")
  endif()
  message(STATUS "ddo ${_command} ${_prm} on ${_ranks} ranks: ok")
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/expect_equal_fields.cmake)

# One parameter file per run: its own data, checkpoint and sample files. A
# parameter file that names its mesh as __MESH__ gets the file MESH.
file(READ ${PRM} _text)
if(DEFINED MESH)
  string(REPLACE "__MESH__" "${MESH}" _text "${_text}")
endif()
function(write_variant _name _partitioning _data _checkpoint)
  string(REPLACE "data/train.h5" "${_data}/train.h5" _variant "${_text}")
  string(REPLACE "data/test.h5" "${_data}/test.h5" _variant "${_variant}")
  string(REPLACE "= checkpoint" "= ${_checkpoint}" _variant "${_variant}")
  string(REPLACE "subsection Sampling\n" "subsection Sampling\n  set Output file = samples/${_name}.h5\n  set VTU file = \n"
    _variant "${_variant}")
  string(REPLACE "subsection Mesh\n" "subsection Mesh\n  set Partitioning = ${_partitioning}\n" _variant "${_variant}")
  file(WRITE ${WORKDIR}/${_name}.prm "${_variant}")
endfunction()

write_variant(one serial data checkpoint_one)
write_variant(two serial data_two checkpoint_two)
write_variant(two_distributed distributed data_distributed checkpoint_one)
write_variant(one_with_two serial data checkpoint_two)
write_variant(two_with_one serial data checkpoint_one)

run_ddo(1 generate one.prm)
run_ddo(2 generate two.prm)
foreach(_file train.h5 test.h5)
  expect_equal_fields(data/${_file} data_two/${_file} 0 "${_file} on 2 ranks differs from 1 rank's")
endforeach()

run_ddo(1 train one.prm)
# The 2-rank run trains on the 1-rank data (data_two is the same, bitwise).
file(READ ${WORKDIR}/two.prm _two)
string(REPLACE "data_two/train.h5" "data/train.h5" _two "${_two}")
file(WRITE ${WORKDIR}/two.prm "${_two}")
run_ddo(2 train two.prm)

run_ddo(1 sample one.prm)
run_ddo(1 sample one_with_two.prm)
expect_equal_fields(samples/one.h5 samples/one_with_two.h5 1e-5
  "the model trained on 2 ranks samples unlike the 1-rank model")
run_ddo(2 sample two_with_one.prm)
expect_equal_fields(samples/one.h5 samples/two_with_one.h5 1e-5
  "sampling on 2 ranks differs from sampling on 1 rank")
foreach(_command generate sample)
  execute_process(COMMAND ${_mpi} -np 2 ${DDO} ${_command} two_distributed.prm WORKING_DIRECTORY ${WORKDIR}
    TIMEOUT 120 RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  if(_result EQUAL 0 OR _result MATCHES "timeout")
    message(FATAL_ERROR "ddo ${_command} on a distributed mesh: expected a clear error, got (${_result}):\n${_output}\n${_error}")
  endif()
  if(NOT _error MATCHES "ddo: error: .*(serial meshes|serial .replicated. meshes)")
    message(FATAL_ERROR "ddo ${_command} on a distributed mesh failed without the expected message:\n${_error}")
  endif()
  message(STATUS "ddo ${_command} on a distributed mesh: refused, as expected")
endforeach()
