# examples/step-4 in miniature: 2 truths x 4 posterior samples with the
# shipped DDO prior and with the Gaussian prior on log a. Checks that both
# runs finish, that diffusion posterior sampling with the misfit-controlled
# step (the example's method) costs exactly 2 x 250 = 500 network
# evaluations per sample (250 levels, each with one extra evaluation for the
# denoiser's Jacobian) and at least 500 PDE solves (a forward and an adjoint
# solve for the gradient at each level, more for the step's trials), that
# the samples explain the data (normalized misfit of the DDO's samples below
# 3, measured 1.80; of the Gaussian prior's below 6, measured 4.36), and that
# the DDO posterior mean is closer to the truth than the data's mean value
# on average and misclassifies less than 15% of the plate (measured 9.1%;
# the data's mean value, 7.5 everywhere, misclassifies about half). The Gaussian
# prior's mean of exp(log a) over 4 samples need not be closer, and is not
# checked. The DDO posterior on two ranks gives the same table as on one.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
set(_example ${SOURCE_DIR}/examples/step-4)
foreach(_prior step-4 step-4-gaussian)
  file(WRITE ${WORKDIR}/${_prior}.prm "include ${_example}/${_prior}.prm
subsection Mesh
  subsection gmsh
    set File name = ${_example}/plate.msh
  end
end
subsection Generate
  set Number of samples = 2
  set Number of test samples = 2
end
subsection Sampling
  set Checkpoint = ${_example}/model
end
subsection Posterior
  set Number of truths = 2
  set Samples per truth = 4
  set Truths in VTU = 1
end
")
endforeach()
# The Gaussian file includes step-4.prm by a relative path: run where it is.
file(WRITE ${WORKDIR}/step-4-gaussian.prm "include ${WORKDIR}/step-4.prm
subsection Posterior
  set Prior = gaussian
  set Output directory = output/posterior_gaussian
  subsection Gaussian prior
    set Mean = 1.791759
    set Transform = exp
    set Model = matern
    subsection matern
      set Correlation length = 0.943
      set Smoothness = 1
      set Marginal variance = 0.480453
    end
  end
  subsection darcy_point_pressure
    set Field = log permeability
  end
end
")
# The anchors' configuration (500 observations, proximal steps below sigma
# 0.2) on the same two truths: the example's file includes step-4.prm by a
# relative path, i.e. the miniature above.
file(WRITE ${WORKDIR}/step-4-anchors.prm "include ${_example}/step-4-anchors.prm\n")
# One thread per process: the posterior samples depend on the rounding of the
# network's sums, which depends on the number of threads (see below).
set(_one_thread ${CMAKE_COMMAND} -E env OMP_NUM_THREADS=1)
foreach(_step "generate;step-4.prm" "posterior;step-4.prm" "posterior;step-4-gaussian.prm" "posterior;step-4-anchors.prm")
  execute_process(COMMAND ${_one_thread} ${DDO} ${_step} WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _r OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  message("${_out}")
  if(NOT _r EQUAL 0)
    message(FATAL_ERROR "ddo ${_step} failed:\n${_err}")
  endif()
endforeach()
# The DDO posterior again on two ranks (one truth each): the table equals
# the one-rank table in every column but the time per sample. (With two
# threads instead of one, the relative error of a truth's mean of 4 samples
# moves by about 0.01: the guidance amplifies differences of rounding.)
file(WRITE ${WORKDIR}/step-4-two-ranks.prm "include ${WORKDIR}/step-4.prm
subsection Posterior
  set Output directory = output/posterior_two_ranks
  set Truths in VTU = 2
end
")
separate_arguments(_mpi UNIX_COMMAND "${MPIEXEC}")
execute_process(COMMAND ${_one_thread} ${_mpi} -np 2 ${DDO} posterior step-4-two-ranks.prm WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE _r OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
message("${_out}")
if(NOT _r EQUAL 0)
  message(FATAL_ERROR "ddo posterior on two ranks failed:\n${_err}")
endif()
foreach(_row "0" "1" "mean")
  foreach(_directory posterior posterior_two_ranks)
    file(STRINGS ${WORKDIR}/output/${_directory}/posterior.txt _line REGEX "^ *${_row} ")
    separate_arguments(_fields UNIX_COMMAND "${_line}")
    list(REMOVE_AT _fields -1) # seconds per sample
    string(JOIN " " _${_directory} ${_fields})
  endforeach()
  set(_one "${_posterior}")
  set(_two "${_posterior_two_ranks}")
  if(NOT "${_one}" STREQUAL "${_two}")
    message(FATAL_ERROR "posterior.txt, row ${_row}: one rank '${_one}', two ranks '${_two}'")
  endif()
endforeach()
foreach(_truth 0 1) # each written by the rank that drew it
  if(NOT EXISTS ${WORKDIR}/output/posterior_two_ranks/truth_${_truth}.vtu)
    message(FATAL_ERROR "ddo posterior on two ranks wrote no truth_${_truth}.vtu")
  endif()
endforeach()
message("the two-rank posterior table equals the one-rank table")
foreach(_table output/posterior/posterior.txt output/posterior_gaussian/posterior.txt)
  file(STRINGS ${WORKDIR}/${_table} _mean REGEX "^ *mean ")
  separate_arguments(_fields UNIX_COMMAND "${_mean}")
  # mean, rel L2, log L2, prior L2, misfit(m), misfit(s), cover, misclassified, miscl(s), solves, network, s/sample
  list(GET _fields 1 _relative)
  list(GET _fields 3 _prior)
  list(GET _fields 5 _misfit)
  list(GET _fields 9 _solves)
  list(GET _fields 10 _network)
  if(_solves LESS 500 OR NOT _network EQUAL 500)
    message(FATAL_ERROR "${_table}: ${_solves} solves and ${_network} network evaluations per sample, expected at least 500 and 500")
  endif()
  list(GET _fields 7 _misclassified)
  string(REPLACE "%" "" _misclassified "${_misclassified}")
  if(_table MATCHES "posterior/posterior.txt")
    set(_misfit_bound 3)
  else()
    set(_misfit_bound 6)
  endif()
  if(NOT _misfit LESS _misfit_bound)
    message(FATAL_ERROR "${_table}: the samples' normalized misfit is ${_misfit}, expected below ${_misfit_bound}")
  endif()
  if(_table MATCHES "posterior/posterior.txt" AND NOT _relative LESS _prior)
    message(FATAL_ERROR "${_table}: the posterior mean (${_relative}) is not closer to the truths than their mean value (${_prior})")
  endif()
  if(_table MATCHES "posterior/posterior.txt" AND NOT _misclassified LESS 15)
    message(FATAL_ERROR "${_table}: the posterior mean misclassifies ${_misclassified}% of the plate, expected below 15%")
  endif()
  message("${_table}: relative L2 ${_relative} against ${_prior} without data, samples' misfit ${_misfit}, ${_solves} solves per sample")
endforeach()
# The anchors' configuration: 250 levels, the last 68 with the proximal step
# (one network evaluation each): 432 network evaluations per sample; the
# samples fit the 500 observations to the noise level (normalized misfit
# below 1.5; measured 0.92) and the posterior mean misclassifies less than 6%
# of the plate (measured 3.5%; DPS alone with 500 observations on these
# truths: 8.0% and 4.5%, samples' misfit 3.6 and 2.5).
file(STRINGS ${WORKDIR}/output/anchors/posterior.txt _mean REGEX "^ *mean ")
separate_arguments(_fields UNIX_COMMAND "${_mean}")
list(GET _fields 5 _misfit)
list(GET _fields 7 _misclassified)
list(GET _fields 10 _network)
string(REPLACE "%" "" _misclassified "${_misclassified}")
if(NOT _network EQUAL 432)
  message(FATAL_ERROR "step-4-anchors.prm: ${_network} network evaluations per sample, expected 432")
endif()
if(NOT _misfit LESS 1.5 OR NOT _misclassified LESS 6)
  message(FATAL_ERROR "step-4-anchors.prm: samples' misfit ${_misfit} (expected below 1.5), posterior mean misclassifies ${_misclassified}% (expected below 6%)")
endif()
message("step-4-anchors.prm: samples' misfit ${_misfit}, posterior mean misclassifies ${_misclassified}%")
