# Runs generate -> train (4 steps) -> train again with 8 steps (must resume)
# -> sample on the training mesh -> sample on a refined mesh, in WORKDIR,
# and checks that every stage succeeds, says what it should and writes its files.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})

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

run_stage(generate ${PRM} "wrote: data/train.h5" generate)
expect_file(data/train.h5)
# Generating again resumes nothing (the file is complete) but must not fail.
run_stage(train ${PRM} "step +4/4" train)
expect_file(checkpoint/weights.pt)
expect_file(checkpoint/ema.pt)
expect_file(checkpoint/optimizer.pt)

# A longer run resumes from the checkpoint at step 4.
file(READ ${PRM} _text)
string(REPLACE "set Number of steps = 4\n  set Batch size" "set Number of steps = 8\n  set Batch size" _longer "${_text}")
file(WRITE ${WORKDIR}/longer.prm "${_longer}")
run_stage(resume ${WORKDIR}/longer.prm "Resuming from <checkpoint> at step 4.*step +8/8" train)
file(READ ${WORKDIR}/checkpoint/metadata.txt _metadata)
if(NOT _metadata MATCHES "training.step = 8")
  message(FATAL_ERROR "the checkpoint does not record step 8:\n${_metadata}")
endif()

run_stage(sample ${PRM} "trained on this mesh.*wrote: output/samples.h5.*wrote: output/samples.vtu" sample)
expect_file(output/samples.h5)

# Zero-shot on the refined mesh: same model, other mesh.
string(REPLACE "set Distortion = 0.2" "set Distortion = 0.2\n  set Global refinements = 1" _refined "${_text}")
string(REPLACE "output/samples" "output/refined" _refined "${_refined}")
string(REPLACE "set Checkpoint = checkpoint" "set Checkpoint = checkpoint\n  set Output file = output/refined.h5\n  set VTU file = output/refined.vtu" _refined "${_refined}")
file(WRITE ${WORKDIR}/refined.prm "${_refined}")
run_stage(sample_refined ${WORKDIR}/refined.prm "zero-shot transfer.*wrote: output/refined.h5" sample)
expect_file(output/refined.vtu)
