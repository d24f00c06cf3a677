// A perforated plate: the unit square with three circular holes,
// unstructured triangles. Boundary ids: 1 on the outer square (the pressure
// is held at 0 there), 2 on the walls of the holes (impermeable). The mesh
// size is set on the command line:
//   gmsh -2 -setnumber size 0.03 plate.geo -o plate.msh          (training mesh)
//   gmsh -2 -setnumber size 0.024 plate.geo -o plate_other.msh   (another mesh)
SetFactory("OpenCASCADE");
If (!Exists(size))
  size = 0.03;
EndIf
Rectangle(1) = {0, 0, 0, 1, 1};
Disk(2) = {0.3, 0.32, 0, 0.1, 0.1};
Disk(3) = {0.7, 0.4, 0, 0.08, 0.08};
Disk(4) = {0.45, 0.72, 0, 0.09, 0.09};
BooleanDifference{ Surface{1}; Delete; }{ Surface{2, 3, 4}; Delete; }
outer() = Curve In BoundingBox{-0.01, -0.01, -0.01, 1.01, 0.01, 0.01};
outer() += Curve In BoundingBox{-0.01, 0.99, -0.01, 1.01, 1.01, 0.01};
outer() += Curve In BoundingBox{-0.01, -0.01, -0.01, 0.01, 1.01, 0.01};
outer() += Curve In BoundingBox{0.99, -0.01, -0.01, 1.01, 1.01, 0.01};
all() = Curve{:};
Physical Curve(1) = {outer()};
Physical Curve(2) = {all()};
Physical Curve(2) -= {outer()};
Physical Surface(0) = {1};
Mesh.CharacteristicLengthMax = size;
Mesh.MshFileVersion = 2.2;
Mesh.RandomSeed = 1;
