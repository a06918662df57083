//VTK::System::Dec
// Soft round splats (tl::ui::PointCloudLayer, 2-D style): one GL point per particle, in world
// coordinates through VTK's world -> device matrix. Two variants, chosen by the layer: with
// TL_POINT_COLORS defined each point carries its colour; without, the fragment shader uses one
// uniform colour (no attribute, no varying: the cheapest program for software GL).
in vec3 vertexMC;
uniform mat4 WCDCMatrix;      // VTK's key matrix (already laid out for GLSL)
uniform float pointDiameter;  // framebuffer pixels
#ifdef TL_POINT_COLORS
in vec3 colorIn;              // normalised bytes
flat out vec3 splatColor;     // one vertex per point: nothing to interpolate
#endif
void main() {
  gl_Position = WCDCMatrix * vec4(vertexMC, 1.0);
  gl_PointSize = pointDiameter;
#ifdef TL_POINT_COLORS
  splatColor = colorIn;
#endif
}
