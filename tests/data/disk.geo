// Unit disk, unstructured triangles (tests/data/disk_triangles.msh).
SetFactory("OpenCASCADE");
Disk(1) = {0, 0, 0, 1, 1};
Mesh.CharacteristicLengthMax = 0.3;
