// A block with a cylindrical bore and a spherical cavity, unstructured
// tetrahedra (tests/data/block_with_holes.msh): the 3D pipeline test of the
// driver (tests/pipeline/pipeline_3d.prm).
SetFactory("OpenCASCADE");
Box(1) = {0, 0, 0, 1.2, 0.8, 0.5};
Cylinder(2) = {0.4, 0.4, -0.1, 0, 0, 0.7, 0.18};
Sphere(3) = {0.9, 0.4, 0.25, 0.14};
BooleanDifference{ Volume{1}; Delete; }{ Volume{2, 3}; Delete; }
Mesh.CharacteristicLengthMax = 0.16;
Mesh.MshFileVersion = 2.2;
