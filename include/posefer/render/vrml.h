// A reader for the subset of VRML 2.0 (VRML97) that textured scans use: IndexedFaceSet shapes
// with coordinates, texture coordinates and an ImageTexture, possibly inside Transform/Group
// nodes. BU-3DFE's *_F3D.wrl files are of this kind.
//
// Syntax accepted: the "#VRML V2.0 utf8" header; '#' comments; nodes "[DEF name] Type { fields }"
// and "USE name"; field values that are a node, NULL, TRUE/FALSE, one or more numbers, one or
// more strings, or a [ ... ] list of numbers, strings or nodes; commas are white space; ROUTE
// statements are passed over. PROTO / EXTERNPROTO are refused.
//
// Geometry read: Shape { appearance Appearance { texture ImageTexture { url "..." } }
//                        geometry IndexedFaceSet { coord Coordinate { point [x y z, ...] }
//                                                  coordIndex [i j k -1, ...]
//                                                  texCoord TextureCoordinate { point [u v, ...] }
//                                                  texCoordIndex [...] } }
// Polygons (-1 separated; a missing final -1 is accepted) are split into fans of triangles;
// polygons with fewer than 3 corners are dropped. Without texCoordIndex the texture
// coordinates are indexed by coordIndex. Transform translation / rotation (axis, angle in
// radians) / scale are applied to the points (center and scaleOrientation are not supported).
// Other nodes and fields (Material, normals, colours, lights, viewpoints) are read and ignored.
//
// Errors: InputError "<file> line N: <what>" for broken syntax (unbalanced braces, an
// unterminated string, a value that is not a number where numbers are expected, a point list
// whose length is not a multiple of 3 / 2, an index out of range, texCoordIndex not matching
// coordIndex's polygons); InputError "<file>: texture '<url>' not found (<resolved path>)" for a
// missing texture image.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "posefer/render/render.h"

namespace posefer {

// One IndexedFaceSet shape as in the file, with its Transforms applied to `points`.
struct VrmlShape {
  std::vector<Vec3> points;           // Coordinate.point
  std::vector<int> coord_index;       // coordIndex (-1 ends a polygon)
  std::vector<Vec2> tex_points;       // TextureCoordinate.point (may be empty)
  std::vector<int> tex_coord_index;   // texCoordIndex (may be empty)
  std::string texture_url;            // first ImageTexture url ("" = untextured)
  int line = 0;                       // line of the IndexedFaceSet node (for messages)
};

struct VrmlScene {
  std::vector<VrmlShape> shapes;  // in file order
};

// Parses VRML text; `path` names the file in error messages.
VrmlScene parse_vrml(const std::string& text, const std::string& path);
// Reads and parses a .wrl file. InputError "<path>: cannot open" when missing.
VrmlScene read_vrml(const std::string& path);

// Triangle meshes of the scene's shapes: one Mesh per shape, vertices unrolled per distinct
// (point, texture coordinate) pair, normals left to the renderer. Texture URLs are resolved
// relative to the folder of `wrl_path` and loaded as RGB (any format OpenCV reads; BMP here);
// textures shared by several shapes are loaded once. Throws InputError naming the file for a
// missing or unreadable texture, and for textured shapes without texture coordinates.
std::vector<Mesh> vrml_meshes(const VrmlScene& scene, const std::string& wrl_path);

}  // namespace posefer
