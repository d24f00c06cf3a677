// Point observations of FE functions: locating the points, the sparse
// observation operator, synthetic noisy data and the Gaussian likelihood.

#include <deal.II/base/bounding_box.h>
#include <deal.II/grid/grid_tools.h>
#include <deal.II/grid/grid_tools_cache.h>

#include <ddo/base/hashing.h>
#include <ddo/base/random.h>
#include <ddo/likelihood/point_observations.h>

#include <boost/random/normal_distribution.hpp>
#include <boost/random/uniform_real_distribution.hpp>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace ddo
{
  void
  PointObservationSettings::declare_parameters(ParameterHandler &prm)
  {
    prm.declare_entry("Number of observations", "40", Patterns::Integer(1),
                      "Observation points drawn uniformly in the domain (when no points file is given).");
    prm.declare_entry("Point seed", "1", Patterns::Integer(0), "The random stream of the observation points.");
    prm.declare_entry("Points file", "", Patterns::Anything(),
                      "A text file with one observation point per line (coordinates separated by "
                      "blanks); empty: random points.");
    prm.declare_entry("Noise level", "0.01", Patterns::Double(0),
                      "Standard deviation of the Gaussian noise added to the observations, relative "
                      "to the root mean square of the observed values (0: noiseless data).");
    prm.declare_entry("Likelihood noise level", "0", Patterns::Double(0),
                      "Standard deviation the likelihood assumes, relative as above (0: the noise "
                      "level; must be positive for noiseless data).");
  }


  void
  PointObservationSettings::parse_parameters(ParameterHandler &prm)
  {
    n_points               = prm.get_integer("Number of observations");
    point_seed             = prm.get_integer("Point seed");
    points_file            = prm.get("Points file");
    noise_level            = prm.get_double("Noise level");
    likelihood_noise_level = prm.get_double("Likelihood noise level");
    AssertThrow(noise_level > 0 || likelihood_noise_level > 0,
                ExcMessage("Noiseless observations ('Noise level = 0') need a positive 'Likelihood noise "
                           "level': the standard deviation the likelihood assumes, e.g. 0.01."));
  }


  namespace
  {
    /** The points of a text file, one per line. */
    template <int dim>
    std::vector<Point<dim>>
    read_points(const std::string &file_name)
    {
      std::ifstream in(file_name);
      AssertThrow(in, ExcMessage("Cannot open the observation points file <" + file_name + ">."));
      std::vector<Point<dim>> points;
      std::string             line;
      unsigned int            line_number = 0;
      while (std::getline(in, line))
        {
          ++line_number;
          if (line.find_first_not_of(" \t\r") == std::string::npos || line[line.find_first_not_of(" \t")] == '#')
            continue;
          std::istringstream words(line);
          Point<dim>         p;
          for (unsigned int d = 0; d < dim; ++d)
            AssertThrow(static_cast<bool>(words >> p[d]),
                        ExcMessage("<" + file_name + ">, line " + std::to_string(line_number) + ": expected " +
                                   std::to_string(dim) + " coordinates."));
          points.push_back(p);
        }
      AssertThrow(!points.empty(), ExcMessage("The observation points file <" + file_name + "> holds no point."));
      return points;
    }
  } // namespace


  template <int dim>
  PointObservations<dim>::PointObservations(const FunctionSpace<dim> &space, const PointObservationSettings &settings_in)
    : settings(settings_in)
  {
    AssertThrow(!space.is_distributed(),
                ExcMessage("Point observations need a serial or replicated mesh (every rank holds every cell)."));
    const GridTools::Cache<dim> cache(space.get_triangulation(), space.get_mapping());
    if (!settings.points_file.empty())
      {
        for (const Point<dim> &p : read_points<dim>(settings.points_file))
          {
            const auto found = GridTools::find_active_cell_around_point(cache, p);
            std::ostringstream where;
            where << p;
            AssertThrow(found.first.state() == IteratorState::valid,
                        ExcMessage("The observation point (" + where.str() + ") lies outside the mesh."));
            add_point(space, p);
          }
        return;
      }
    // Uniform points in the domain: uniform in its bounding box, those
    // outside every cell (in holes) rejected.
    const BoundingBox<dim>                            box = GridTools::compute_bounding_box(space.get_triangulation());
    CounterEngine                                     engine(hashing::mix(settings.point_seed ^ 0x6f62732d70747300ULL));
    boost::random::uniform_real_distribution<double> uniform(0., 1.);
    unsigned int                                      tries = 0;
    while (locations.size() < settings.n_points)
      {
        AssertThrow(++tries < 1000 * settings.n_points,
                    ExcMessage("Could not place the observation points: the mesh covers almost none of its bounding box."));
        Point<dim> p;
        for (unsigned int d = 0; d < dim; ++d)
          p[d] = box.lower_bound(d) + uniform(engine) * (box.upper_bound(d) - box.lower_bound(d));
        if (GridTools::find_active_cell_around_point(cache, p).first.state() == IteratorState::valid)
          add_point(space, p);
      }
  }


  template <int dim>
  void
  PointObservations<dim>::add_point(const FunctionSpace<dim> &space, const Point<dim> &p)
  {
    const auto found =
      GridTools::find_active_cell_around_point(space.get_mapping(), space.get_dof_handler(), p);
    const auto &                         cell = found.first;
    const FiniteElement<dim> &           fe   = cell->get_fe();
    std::vector<types::global_dof_index> dofs(fe.n_dofs_per_cell());
    cell->get_dof_indices(dofs);
    std::vector<double> weights(dofs.size());
    for (unsigned int i = 0; i < dofs.size(); ++i)
      weights[i] = fe.shape_value(i, found.second);
    locations.push_back(p);
    point_dofs.push_back(std::move(dofs));
    point_weights.push_back(std::move(weights));
  }


  template <int dim>
  unsigned int
  PointObservations<dim>::size() const
  {
    return locations.size();
  }


  template <int dim>
  const std::vector<Point<dim>> &
  PointObservations<dim>::points() const
  {
    return locations;
  }


  template <int dim>
  std::vector<double>
  PointObservations<dim>::values(const Vector<double> &v) const
  {
    std::vector<double> y(size(), 0.);
    for (unsigned int j = 0; j < size(); ++j)
      for (unsigned int i = 0; i < point_dofs[j].size(); ++i)
        y[j] += point_weights[j][i] * v[point_dofs[j][i]];
    return y;
  }


  template <int dim>
  void
  PointObservations<dim>::add_transpose(const std::vector<double> &weights, Vector<double> &out) const
  {
    AssertDimension(weights.size(), size());
    for (unsigned int j = 0; j < size(); ++j)
      for (unsigned int i = 0; i < point_dofs[j].size(); ++i)
        out[point_dofs[j][i]] += point_weights[j][i] * weights[j];
  }


  template <int dim>
  void
  PointObservations<dim>::observe(const Vector<double> &truth, const std::uint64_t seed)
  {
    observed   = values(truth);
    double rms = 0;
    for (const double y : observed)
      rms += y * y;
    rms = std::sqrt(rms / size());
    AssertThrow(rms > 0, ExcMessage("The truth vanishes at every observation point: the relative noise "
                                    "level has no scale."));
    eta   = settings.noise_level * rms;
    eta_l = (settings.likelihood_noise_level > 0 ? settings.likelihood_noise_level : settings.noise_level) * rms;
    CounterEngine                              engine(hashing::mix(seed ^ 0x6f62732d6e6f6973ULL));
    boost::random::normal_distribution<double> normal;
    for (double &y : observed)
      y += eta * normal(engine);
  }


  template <int dim>
  const std::vector<double> &
  PointObservations<dim>::data() const
  {
    return observed;
  }


  template <int dim>
  double
  PointObservations<dim>::likelihood_sigma() const
  {
    return eta_l;
  }


  template <int dim>
  double
  PointObservations<dim>::noise_sigma() const
  {
    return eta;
  }


  template <int dim>
  void
  PointObservations<dim>::set_widening(const std::vector<double> &v, const double field_scale)
  {
    AssertThrow(field_scale >= 0, ExcMessage("PointObservations: the field scale must not be negative."));
    widening_scale = field_scale;
    AssertThrow(v.empty() || v.size() == size(),
                ExcMessage("PointObservations: " + std::to_string(v.size()) + " widening variances for " +
                           std::to_string(size()) + " observations."));
    widening = v;
  }


  template <int dim>
  double
  PointObservations<dim>::observation_variance(const FunctionSpace<dim> &     space,
                                               const CovarianceOperator<dim> &covariance,
                                               const Vector<double> &         g)
  {
    Vector<double> condensed = g;
    space.get_constraints().condense(condensed);
    VectorType in = space.create_vector(), out = space.create_vector();
    for (unsigned int i = 0; i < condensed.size(); ++i)
      in[i] = condensed[i];
    covariance.apply(in, out);
    return in * out;
  }


  template <int dim>
  double
  PointObservations<dim>::log_likelihood(const std::vector<double> &y,
                                         std::vector<double> &      dlogl_dy,
                                         const double               sigma) const
  {
    AssertThrow(observed.size() == size(), ExcMessage("The likelihood has no data: observe() a truth first."));
    dlogl_dy.resize(size());
    const double s2     = widening_scale * widening_scale;
    const double factor = widening.empty() ? 0. : s2 > 0 ? sigma * sigma * s2 / (s2 + sigma * sigma) : sigma * sigma;
    double       log_l  = 0;
    for (unsigned int j = 0; j < size(); ++j)
      {
        const double r        = observed[j] - y[j];
        const double variance = eta_l * eta_l + (widening.empty() ? 0. : factor * widening[j]);
        log_l -= 0.5 * r * r / variance;
        dlogl_dy[j] = r / variance;
      }
    return log_l;
  }


  template <int dim>
  double
  PointObservations<dim>::normalized_misfit(const std::vector<double> &y) const
  {
    double sum = 0;
    for (unsigned int j = 0; j < size(); ++j)
      sum += std::pow((y[j] - observed[j]) / eta_l, 2);
    return std::sqrt(sum / size());
  }


  template <int dim>
  std::string
  PointObservations<dim>::summary() const
  {
    std::ostringstream out;
    out << size() << (settings.points_file.empty() ? " random points" : " points from <" + settings.points_file + ">")
        << ", noise " << 100 * settings.noise_level << "% (likelihood "
        << 100 * (settings.likelihood_noise_level > 0 ? settings.likelihood_noise_level : settings.noise_level)
        << "%)";
    return out.str();
  }


  template class PointObservations<2>;
  template class PointObservations<3>;
} // namespace ddo
