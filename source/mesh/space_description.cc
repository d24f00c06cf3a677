#include <ddo/mesh/mesh_builder.h>
#include <ddo/mesh/space_description.h>

#include <sstream>

namespace ddo
{
  namespace
  {
    template <int dim>
    void
    declare_space_parameters(ParameterHandler &prm)
    {
      MeshBuilder<dim>::declare_parameters(prm);
      FunctionSpace<dim>::declare_parameters(prm);
    }


    void
    parse_text(ParameterHandler &prm, const std::string &text, const std::string &source)
    {
      try
        {
          prm.parse_input_from_string(text, source, /*skip_undefined=*/true);
        }
      catch (const ExceptionBase &e)
        {
          std::ostringstream message;
          e.print_info(message);
          AssertThrow(false, ExcMessage("Invalid mesh description in <" + source + ">:\n" + message.str()));
        }
    }
  } // namespace


  template <int dim>
  std::string
  extract_space_description(const std::string &prm_text, const std::string &source_name)
  {
    ParameterHandler prm;
    declare_space_parameters<dim>(prm);
    parse_text(prm, prm_text, source_name);
    std::ostringstream out;
    // ShortPRM: every entry of the two subsections, no documentation. A
    // leading Dimension line makes the text a complete parameter file.
    out << "set Dimension = " << dim << '\n';
    prm.print_parameters(out, ParameterHandler::ShortPRM);
    return out.str();
  }


  template <int dim>
  std::unique_ptr<FunctionSpace<dim>>
  build_function_space(const std::string &description, const MPI_Comm comm, const std::string &source_name)
  {
    ParameterHandler prm;
    declare_space_parameters<dim>(prm);
    parse_text(prm, description, source_name);
    MeshBuilder<dim> builder;
    builder.parse_parameters(prm);
    prm.enter_subsection("Finite element");
    const unsigned int degree = prm.get_integer("Degree");
    prm.leave_subsection();
    return std::make_unique<FunctionSpace<dim>>(builder.create(comm), degree, builder.periodic_boundaries());
  }


  template std::string extract_space_description<2>(const std::string &, const std::string &);
  template std::string extract_space_description<3>(const std::string &, const std::string &);
  template std::unique_ptr<FunctionSpace<2>> build_function_space<2>(const std::string &, const MPI_Comm, const std::string &);
  template std::unique_ptr<FunctionSpace<3>> build_function_space<3>(const std::string &, const MPI_Comm, const std::string &);
} // namespace ddo
