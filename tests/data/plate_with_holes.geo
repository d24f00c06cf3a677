// A plate with two circular holes, unstructured triangles
// (tests/data/plate_with_holes.msh): the Gaussian-target test of the
// driver (tests/pipeline/gaussian_holes.prm).
SetFactory("OpenCASCADE");
Rectangle(1) = {0, 0, 0, 2, 1};
Disk(2) = {0.55, 0.45, 0, 0.2, 0.2};
Disk(3) = {1.4, 0.6, 0, 0.15, 0.15};
BooleanDifference{ Surface{1}; Delete; }{ Surface{2, 3}; Delete; }
Mesh.CharacteristicLengthMax = 0.1;
Mesh.MshFileVersion = 2.2;
