# Renders the figures of ddo step-2 from the tables the program writes:
#
#   gnuplot -e "dir='step-2-output'; nbands=4; nruns=10; nwhite=3" plot_step2.gp
#
# score_error.png:    relative score error per eigenvalue band against sigma
# variance_ratio.png: sample/truth variance ratio per band, every sampler run
# loss.png:           the training loss (running mean)

if (!exists("dir"))    dir = 'step-2-output'
if (!exists("nbands")) nbands = 4
if (!exists("nruns"))  nruns = 0
if (!exists("nwhite")) nwhite = 0

set terminal pngcairo size 900,600 font "Sans,11" linewidth 1.5
set grid

# ------------------------------------------------------------ score error
set output dir.'/score_error.png'
set title "Trained network vs exact score: ‖σ(F − F*)‖_M / ‖σF*‖_M per eigenvalue band"
set logscale xy
set xlabel "noise level σ"
set ylabel "relative error"
set key outside right
set format y "%g"
plot for [b=1:nbands] dir.'/score_error.dat' using 1:(column(b+1)) with linespoints pt 7 title sprintf("band %d", b), \
     dir.'/score_error.dat' using 1:(column(nbands+2)) with linespoints lw 2.5 lc rgb "black" pt 5 title "all modes", \
     dir.'/score_error.dat' using 1:(column(nbands+3)) with lines dt 2 lc rgb "gray40" title "skip connection only", \
     0.1 with lines dt 3 lc rgb "red" title "10%"
unset logscale

# ------------------------------------------------------------ variance ratios
set output dir.'/variance_ratio.png'
set terminal pngcairo size 1000,850 font "Sans,11" linewidth 1.5
set multiplot layout 2,1 title "Variance of the mode coefficients, sample / truth, per eigenvalue band"
set title "preconditioned samplers (training mesh h and refinements)"
set xlabel "band (increasing eigenvalue)"
set ylabel "variance ratio"
set xrange [0.8:nbands+0.2]
set xtics 1
set yrange [0.75:1.25]
set key outside right font ",9"
plot for [i=1:nruns] dir.'/variance_ratio.dat' using 1:(column(i+3)) with linespoints pt (i%7+1) title columnheader(i+3), \
     1.1 with lines dt 3 lc rgb "red" notitle, 0.9 with lines dt 3 lc rgb "red" notitle, 1 with lines lc rgb "black" notitle
set title "ablation: Langevin with white (unpreconditioned) noise, same ε"
set logscale y
set yrange [*:*]
plot for [i=1:nwhite] dir.'/variance_ratio_white.dat' using 1:(column(i+3)) with linespoints pt 7 title columnheader(i+3), \
     1 with lines lc rgb "black" notitle
unset multiplot
unset logscale

# ------------------------------------------------------------ loss
set terminal pngcairo size 800,500 font "Sans,11" linewidth 1.5
set output dir.'/loss.png'
set title "Denoising score matching loss (running mean of 50 steps)"
set xlabel "step"
set ylabel "loss"
set xrange [*:*]
set yrange [*:*]
set key off
plot dir.'/loss.dat' using 1:2 with lines
