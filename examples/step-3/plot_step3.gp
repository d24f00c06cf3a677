# Renders the figure of ddo step-3 from weights.dat and means.dat:
#
#   gnuplot -e "dir='step-3-output'; ncomponents=3" plot_step3.gp
#
# Left: true and recovered component weights (with +-0.05 and one standard
# error); right: true mean vs recovered mean at every node, per component.

if (!exists("dir")) dir = 'step-3-output'
if (!exists("ncomponents")) ncomponents = 3

set terminal pngcairo size 1200,520 font "Sans,11" linewidth 1.5
set output dir.'/mixture.png'
set multiplot layout 1,2 title "Gaussian mixture in function space: what the trained DDO samples"

set title "component weights"
set xlabel "component"
set ylabel "weight"
set xrange [-0.6:ncomponents-0.4]
set xtics 1
set yrange [0:0.7]
set grid ytics
set key top right
set boxwidth 0.35
set style fill solid 0.5
plot dir.'/weights.dat' using ($1-0.18):2 with boxes lc rgb "gray60" title "true", \
     dir.'/weights.dat' using ($1+0.18):4 with boxes lc rgb "#1f77b4" title "recovered (nearest mean in L^2)", \
     dir.'/weights.dat' using ($1+0.18):4:5 with yerrorbars lc rgb "black" pt 0 title "± 1 standard error", \
     dir.'/weights.dat' using ($1-0.35):($2+0.05):(0.35):(0) with vectors nohead dt 2 lc rgb "red" notitle, \
     dir.'/weights.dat' using ($1-0.35):($2-0.05):(0.35):(0) with vectors nohead dt 2 lc rgb "red" title "± 0.05"

set title "component means at the nodes: recovered vs true"
set xlabel "true mean m_j(x_i)"
set ylabel "mean of the samples of class j at x_i"
set xrange [*:*]
set yrange [*:*]
set autoscale
set xtics auto
set style fill empty
set key top left
plot for [j=0:ncomponents-1] dir.'/means.dat' using (column(3+2*j)):(column(4+2*j)) with points pt 7 ps 0.5 title sprintf("component %d", j), \
     x with lines lc rgb "black" notitle
unset multiplot
