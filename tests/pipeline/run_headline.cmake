# The headline in CI: the shipped Navier-Stokes model samples 100 fields on
# its training mesh with the shipped parameter file (probability flow, seed
# of the file), and `ddo metrics` compares them with the shipped test set.
# The bounds are those the model is documented to meet, each wider than the
# spread of the floor over the 20 A/B splits of the test set:
# - density, |grad u| density: at most 2 x the floor; spectrum at most 3 x;
# - the Gaussian baseline's density at least 5 x ours (not a Gaussian);
# - the energy of every band up to sqrt(lambda) = 57 within the range of the
#   floor's per-split ratios in that band (`ddo metrics` writes them as
#   band_ratio_low_b and band_ratio_high_b): the spread of the band energy of
#   100 test fields against the other 100 over the 20 splits, that is, how far
#   a set drawn from the data's own law strays. One band is the exception:
#   sqrt(lambda) = 30-41 (band 5), where the shipped model is 0.81-0.87 of the
#   test set's energy on all six sampling seeds of the results page, below the
#   floor's range (0.94-1.05): a bias of the model, documented there as open;
#   it is held to at least 0.8 so that it cannot grow unnoticed. The bands
#   above sqrt(lambda) = 57 are not checked (3.6-163 x, the same page).
# EXAMPLE is examples/navier_stokes, CHECK is check_metrics.
file(REMOVE_RECURSE ${WORKDIR})
file(MAKE_DIRECTORY ${WORKDIR})
file(READ ${EXAMPLE}/navier_stokes.prm _text)
string(REPLACE "set Checkpoint = model" "set Checkpoint = ${EXAMPLE}/model" _text "${_text}")
string(REPLACE "set Reference file = data/ns_test.h5" "set Reference file = ${EXAMPLE}/data/ns_test.h5"
  _text "${_text}")
if(NOT _text MATCHES "Checkpoint = ${EXAMPLE}/model" OR NOT _text MATCHES "Reference file = ${EXAMPLE}/data")
  message(FATAL_ERROR "navier_stokes.prm no longer has the expected Checkpoint and Reference file entries")
endif()
file(WRITE ${WORKDIR}/headline.prm "${_text}")

foreach(_command sample metrics)
  execute_process(COMMAND ${DDO} ${_command} headline.prm WORKING_DIRECTORY ${WORKDIR}
    RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
  file(WRITE ${WORKDIR}/${_command}.log "${_output}\n${_error}")
  if(NOT _result EQUAL 0)
    message(FATAL_ERROR "ddo ${_command} failed (${_result}):\n${_output}\n${_error}")
  endif()
endforeach()

set(_floor floor__test_half_A_)
set(_conditions
  ddo.density_mse <= 2 ${_floor}.density_mse
  ddo.gradient_density_mse <= 2 ${_floor}.gradient_density_mse
  ddo.spectrum_mse <= 3 ${_floor}.spectrum_mse
  Gaussian_baseline.density_mse >= 5 ddo.density_mse)
foreach(_band RANGE 0 6)
  if(_band EQUAL 5)
    list(APPEND _conditions ddo.band_ratio_${_band} >= 0.8 1)
  else()
    list(APPEND _conditions ddo.band_ratio_${_band} >= 1 ${_floor}.band_ratio_low_${_band})
  endif()
  list(APPEND _conditions ddo.band_ratio_${_band} <= 1 ${_floor}.band_ratio_high_${_band})
endforeach()
execute_process(COMMAND ${CHECK} ${WORKDIR}/output/metrics/metrics.txt ${_conditions}
  RESULT_VARIABLE _result OUTPUT_VARIABLE _output ERROR_VARIABLE _error)
message("${_output}${_error}")
if(NOT _result EQUAL 0)
  message(FATAL_ERROR "the shipped model misses its documented metrics (above; files in ${WORKDIR})")
endif()
