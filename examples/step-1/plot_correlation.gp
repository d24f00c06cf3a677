# Renders the correlation study of ddo step-1.
#
#   gnuplot -e "datafile='correlation.dat'; curvefile='matern_curve.dat'; \
#               outfile='correlation.png'; rho=0.25; nu=1; nsamples=2000; ndofs=6561" \
#           plot_correlation.gp
#
# step-1 runs this itself when gnuplot is installed. Columns of datafile:
# r, empirical, standard error, discrete exact, continuum Matern, nodes.

if (!exists("datafile"))  datafile  = 'correlation.dat'
if (!exists("curvefile")) curvefile = 'matern_curve.dat'
if (!exists("outfile"))   outfile   = 'correlation.png'
if (!exists("rho"))       rho = 0.25
if (!exists("nu"))        nu = 1
if (!exists("nsamples"))  nsamples = 0
if (!exists("ndofs"))     ndofs = 0

stats datafile using 1 nooutput
rmax = 1.1 * STATS_max

set terminal pngcairo size 900,760 font "Sans,11" linewidth 1.5
set output outfile

set multiplot layout 2,1 \
    title sprintf("Matérn field (ν = %g, ρ = %g) by the SPDE on an unstructured mesh (%d DoFs):\ncorrelation with a central node, estimated from %d samples", \
                  nu, rho, ndofs, nsamples) font "Sans,12"

# Top: the correlation itself.
set lmargin 12
set rmargin 4
set key top right box opaque
set grid
set xrange [0:rmax]
set yrange [-0.05:1.02]
set xlabel "distance r"
set ylabel "correlation"
plot curvefile using 1:2 with lines lc rgb "black" lw 1.5 title "continuum Matérn c(r)", \
     datafile using 1:4 with points pt 6 ps 1.6 lc rgb "#1f77b4" title "discrete exact (apply() of a nodal delta)", \
     datafile using 1:2:3 with yerrorbars pt 7 ps 0.8 lc rgb "#d62728" title "empirical ± 1 standard error"

# Bottom: differences to the continuum, the scale where discretization
# error and sampling error can be told apart.
set key top right box opaque
set yrange [*:*]
set ylabel "difference to Matérn"
set xlabel "distance r"
set format y "%.3f"
plot 0 with lines lc rgb "black" lw 1 notitle, \
     datafile using 1:($4-$5) with linespoints pt 6 ps 1.4 lc rgb "#1f77b4" title "discrete exact − Matérn (discretization error)", \
     datafile using 1:($2-$5):3 with yerrorbars pt 7 ps 0.8 lc rgb "#d62728" title "empirical − Matérn ± 1 SE"

unset multiplot
