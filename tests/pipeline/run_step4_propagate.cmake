# Forward uncertainty propagation of examples/step-4 in miniature: 60 prior
# samples of the shipped DDO, 60 test fields and 60 draws of the Gaussian
# with the training data's moments, each pushed through the Darcy problem,
# the outflow through the right side compared by `ddo propagate`. Checks
# that the run finishes with exactly one solve per field (180), that the
# table and the plot data are written, and that the two-sample KS test does
# not tell the DDO's outflows from the data's (p > 0.01; 0.53 at 200 fields).
# On two ranks (the fields shared out) the outflows equal those on one.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
set(_example ${SOURCE_DIR}/examples/step-4)
# The example's file includes step-4.prm by a relative path: include it from here.
file(READ ${_example}/step-4-propagate.prm _settings)
string(REPLACE "include step-4.prm" "include ${_example}/step-4.prm" _settings "${_settings}")
file(WRITE ${WORKDIR}/propagate.prm "${_settings}
subsection Mesh
  subsection gmsh
    set File name = ${_example}/plate.msh
  end
end
subsection Generate
  set Number of samples = 60
  set Number of test samples = 60
end
subsection Sampling
  set Checkpoint = ${_example}/model
  set Number of samples = 60
end
")
foreach(_step generate sample propagate)
  execute_process(COMMAND ${DDO} ${_step} propagate.prm WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _r OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
  message("${_out}")
  if(NOT _r EQUAL 0)
    message(FATAL_ERROR "ddo ${_step} failed:\n${_err}")
  endif()
endforeach()
if(NOT _out MATCHES "PDE solves: 180\n")
  message(FATAL_ERROR "ddo propagate: expected 180 PDE solves (one per field)")
endif()
if(NOT EXISTS ${WORKDIR}/output/propagation/quantity.dat)
  message(FATAL_ERROR "ddo propagate wrote no quantity.dat")
endif()
file(STRINGS ${WORKDIR}/output/propagation/propagation.txt _row REGEX "^samples ")
separate_arguments(_fields UNIX_COMMAND "${_row}")
# samples, n, mean, std, q05, q50, q95, KS, KS/floor, W1, W1/floor, p(KS)
list(GET _fields 1 _n)
list(GET _fields 11 _p)
if(NOT _n EQUAL 60)
  message(FATAL_ERROR "propagation.txt: ${_n} samples, expected 60")
endif()
if(_p LESS 0.01)
  message(FATAL_ERROR "propagation.txt: the DDO's outflows differ from the data's (KS p-value ${_p})")
endif()
message("propagation: KS p-value of the DDO's outflows against the data's ${_p}")
file(WRITE ${WORKDIR}/propagate_two_ranks.prm "include ${WORKDIR}/propagate.prm
subsection Propagation
  set Output directory = output/propagation_two_ranks
end
")
separate_arguments(_mpi UNIX_COMMAND "${MPIEXEC}")
execute_process(COMMAND ${_mpi} -np 2 ${DDO} propagate propagate_two_ranks.prm WORKING_DIRECTORY ${WORKDIR}
  RESULT_VARIABLE _r OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
message("${_out}")
if(NOT _r EQUAL 0)
  message(FATAL_ERROR "ddo propagate on two ranks failed:\n${_err}")
endif()
if(NOT _out MATCHES "PDE solves: 180\n")
  message(FATAL_ERROR "ddo propagate on two ranks: expected 180 PDE solves (one per field)")
endif()
file(READ ${WORKDIR}/output/propagation/quantity.dat _one)
file(READ ${WORKDIR}/output/propagation_two_ranks/quantity.dat _two)
if(NOT _one STREQUAL _two)
  message(FATAL_ERROR "the outflows on two ranks differ from those on one (quantity.dat)")
endif()
message("the outflows on two ranks equal those on one")
