// A mounting bracket: a 2 x 1 x 0.5 block with two cylindrical bolt bores
// through it and a spherical cavity between them, unstructured tetrahedra.
// Boundary ids: 1 on the walls of the two bores, 0 elsewhere. The mesh size
// is set on the command line:
//   gmsh -3 -setnumber size 0.09 bracket.geo -o bracket.msh          (training mesh)
//   gmsh -3 -setnumber size 0.075 bracket.geo -o bracket_other.msh   (another mesh)
SetFactory("OpenCASCADE");
If (!Exists(size))
  size = 0.09;
EndIf
Box(1) = {0, 0, 0, 2, 1, 0.5};
Cylinder(2) = {0.45, 0.5, -0.1, 0, 0, 0.7, 0.22};
Cylinder(3) = {1.55, 0.5, -0.1, 0, 0, 0.7, 0.22};
Sphere(4) = {1.0, 0.5, 0.25, 0.17};
BooleanDifference{ Volume{1}; Delete; }{ Volume{2, 3, 4}; Delete; }
left() = Surface In BoundingBox{0.2, 0.25, -0.01, 0.7, 0.75, 0.51};
right() = Surface In BoundingBox{1.3, 0.25, -0.01, 1.8, 0.75, 0.51};
all() = Surface{:};
Physical Surface(1) = {left(), right()};
Physical Surface(0) = {all()};
Physical Surface(0) -= {left(), right()};
Physical Volume(0) = {1};
Mesh.CharacteristicLengthMax = size;
Mesh.MshFileVersion = 2.2;
Mesh.RandomSeed = 1;
