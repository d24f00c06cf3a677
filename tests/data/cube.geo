// Unit cube, unstructured tetrahedra (tests/data/cube_tetrahedra.msh).
SetFactory("OpenCASCADE");
Box(1) = {0, 0, 0, 1, 1, 1};
Mesh.CharacteristicLengthMax = 0.4;
