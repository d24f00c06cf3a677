# Runs generate (stopped after 5 fields, then resumed) -> train (4 steps) ->
# train again with 8 steps (must resume) -> sample on the training mesh ->
# metrics -> sample with an ensemble of two copies (equal to the checkpoint's
# samples bitwise, by COMPARE = compare_field_files) -> sample on a refined
# mesh -> metrics there, in WORKDIR, and checks that every stage succeeds,
# says what it should and writes its files, and that the metrics are finite.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
# A parameter file that names its mesh as __MESH__ gets the file MESH.
if(DEFINED MESH)
  file(READ ${PRM} _template)
  string(REPLACE "__MESH__" "${MESH}" _template "${_template}")
  file(WRITE ${WORKDIR}/input.prm "${_template}")
  set(PRM ${WORKDIR}/input.prm)
endif()

function(run_stage _name _prm _expect)
  execute_process(COMMAND ${DDO} ${ARGN} ${_prm} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  file(WRITE ${WORKDIR}/${_name}.log "${_output}\n${_error}")
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "stage ${_name} failed (${_result}):\n${_output}\n${_error}")
  endif()
  if(NOT _output MATCHES "${_expect}")
    message(FATAL_ERROR "stage ${_name}: output does not match <${_expect}>:\n${_output}")
  endif()
  message(STATUS "stage ${_name}: ok")
endfunction()

function(expect_file _file)
  if(NOT EXISTS ${WORKDIR}/${_file})
    message(FATAL_ERROR "missing output file ${_file}")
  endif()
endfunction()

file(READ ${PRM} _text)
string(REPLACE "subsection Generate\n" "subsection Generate\n  set Maximum fields this run = 5\n" _interrupted "${_text}")
file(WRITE ${WORKDIR}/interrupted.prm "${_interrupted}")
run_stage(generate_interrupted ${WORKDIR}/interrupted.prm "stopped after 5 fields" generate)
expect_file(data/train.h5.partial)
run_stage(generate ${PRM} "Generating [0-9]+ of [0-9]+ fields into <data/train.h5> .resuming.*wrote: data/train.h5.*wrote: data/test.h5" generate)
expect_file(data/train.h5)
expect_file(data/test.h5)
# Generating again finds both files complete.
run_stage(generate_again ${PRM} "<data/train.h5> is complete.*<data/test.h5> is complete" generate)

function(expect_finite_metrics _directory)
  expect_file(${_directory}/metrics.md)
  expect_file(${_directory}/density.dat)
  expect_file(${_directory}/spectrum.dat)
  expect_file(${_directory}/mean_and_variance.vtu)
  file(READ ${WORKDIR}/${_directory}/metrics.txt _metrics)
  string(TOLOWER "${_metrics}" _lower)
  if(_lower MATCHES "nan|inf" OR NOT _metrics MATCHES "Gaussian_baseline.density_mse = [0-9]")
    message(FATAL_ERROR "metrics not finite or incomplete:\n${_metrics}")
  endif()
endfunction()
run_stage(train ${PRM} "step +4/4" train)
expect_file(checkpoint/weights.pt)
expect_file(checkpoint/ema.pt)
expect_file(checkpoint/optimizer.pt)

# A longer run resumes from the checkpoint at step 4.
string(REPLACE "set Number of steps = 4\n  set Batch size" "set Number of steps = 8\n  set Batch size" _longer "${_text}")
file(WRITE ${WORKDIR}/longer.prm "${_longer}")
run_stage(resume ${WORKDIR}/longer.prm "Resuming from <checkpoint> at step 4.*step +8/8" train)
file(READ ${WORKDIR}/checkpoint/metadata.json _metadata)
if(NOT _metadata MATCHES "\"training.step\": \"8\"")
  message(FATAL_ERROR "the checkpoint does not record step 8:\n${_metadata}")
endif()

run_stage(sample ${PRM} "trained on this mesh.*wrote: output/samples.h5.*wrote: output/samples.vtu" sample)
expect_file(output/samples.h5)
run_stage(metrics ${PRM} "Gaussian baseline.*wrote: output/metrics/mean_and_variance.vtu" metrics)
expect_finite_metrics(output/metrics)

# An ensemble of the checkpoint and a copy of it samples like the checkpoint.
file(COPY ${WORKDIR}/checkpoint/ DESTINATION ${WORKDIR}/checkpoint_copy)
string(REPLACE "set Checkpoint = checkpoint" "set Checkpoint = checkpoint, checkpoint_copy\n  set Output file = output/ensemble.h5\n  set VTU file = " _ensemble "${_text}")
file(WRITE ${WORKDIR}/ensemble.prm "${_ensemble}")
run_stage(sample_ensemble ${WORKDIR}/ensemble.prm "<checkpoint, checkpoint_copy> .an ensemble of 2.*wrote: output/ensemble.h5" sample)
expect_file(output/ensemble.h5)
# The mean of two equal scores is the score (x + x and the halving are
# exact), so the ensemble's samples equal the checkpoint's bit for bit.
include(${CMAKE_CURRENT_LIST_DIR}/expect_equal_fields.cmake)
expect_equal_fields(output/samples.h5 output/ensemble.h5 0
  "the ensemble of two copies does not sample like the checkpoint")

# Zero-shot on the refined mesh: same model, other mesh.
string(REGEX REPLACE "set Global refinements = [0-9]+\n" "" _refined "${_text}")
string(REPLACE "subsection Mesh\n" "subsection Mesh\n  set Global refinements = ${REFINED_LEVEL}\n" _refined "${_refined}")
string(REPLACE "output/metrics" "output/refined_metrics" _refined "${_refined}")
string(REPLACE "subsection Metrics\n" "subsection Metrics\n  set Output directory = output/refined_metrics\n" _refined "${_refined}")
string(REPLACE "output/samples" "output/refined" _refined "${_refined}")
string(REPLACE "set Checkpoint = checkpoint" "set Checkpoint = checkpoint\n  set Output file = output/refined.h5\n  set VTU file = output/refined.vtu" _refined "${_refined}")
file(WRITE ${WORKDIR}/refined.prm "${_refined}")
run_stage(sample_refined ${WORKDIR}/refined.prm "zero-shot transfer.*wrote: output/refined.h5" sample)
expect_file(output/refined.vtu)
run_stage(metrics_refined ${WORKDIR}/refined.prm "another mesh.*interpolated.*Gaussian baseline" metrics)
expect_finite_metrics(output/refined_metrics)
