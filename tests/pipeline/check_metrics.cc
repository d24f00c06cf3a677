// Checks entries of a `metrics.txt` written by `ddo metrics` (lines
// `key = value`) against bounds:
//
//   check_metrics metrics.txt KEY OP FACTOR REFERENCE [KEY OP FACTOR REFERENCE ...]
//
// OP is `<=` or `>=`; REFERENCE is another key or a number; each condition
// reads KEY OP FACTOR * REFERENCE. Prints every condition with its values and
// exits with 1 if one fails or names a key the file lacks.

#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

namespace
{
  std::map<std::string, double>
  read_key_values(const std::string &file_name)
  {
    std::ifstream in(file_name);
    if (!in)
      throw std::runtime_error("cannot read <" + file_name + ">");
    std::map<std::string, double> values;
    for (std::string line; std::getline(in, line);)
      {
        const auto equal = line.find(" = ");
        if (equal == std::string::npos)
          continue;
        std::istringstream number(line.substr(equal + 3));
        double             value;
        if (number >> value)
          values[line.substr(0, equal)] = value;
      }
    return values;
  }

  double
  value_of(const std::map<std::string, double> &values, const std::string &name)
  {
    const auto entry = values.find(name);
    if (entry != values.end())
      return entry->second;
    std::size_t used = 0;
    try
      {
        const double number = std::stod(name, &used);
        if (used == name.size())
          return number;
      }
    catch (const std::exception &)
      {}
    throw std::runtime_error("no entry <" + name + "> in the metrics file");
  }
} // namespace


int
main(int argc, char **argv)
{
  if (argc < 6 || (argc - 2) % 4 != 0)
    {
      std::cerr << "usage: check_metrics metrics.txt KEY OP FACTOR REFERENCE [...]\n";
      return 2;
    }
  try
    {
      const auto values = read_key_values(argv[1]);
      bool       all    = true;
      for (int i = 2; i < argc; i += 4)
        {
          const std::string key = argv[i], op = argv[i + 1], reference = argv[i + 2 + 1];
          const double      factor = std::stod(argv[i + 2]);
          if (op != "<=" && op != ">=")
            throw std::runtime_error("unknown comparison <" + op + ">");
          const double lhs = value_of(values, key), rhs = factor * value_of(values, reference);
          const bool   holds = op == "<=" ? lhs <= rhs : lhs >= rhs;
          all                = all && holds;
          std::cout << (holds ? "ok    " : "FAILED") << "  " << key << " = " << lhs << " " << op << " " << factor
                    << " x " << reference << " = " << rhs << '\n';
        }
      return all ? 0 : 1;
    }
  catch (const std::exception &e)
    {
      std::cerr << "check_metrics: " << e.what() << '\n';
      return 1;
    }
}
