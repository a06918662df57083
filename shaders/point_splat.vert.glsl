//VTK::System::Dec
// Soft round splats (tl::ui::PointCloudLayer, 2-D style): one GL point per particle, in world
// coordinates through VTK's world -> device matrix; colour per point or one colour for all.
in vec3 vertexMC;
in vec3 colorIn;           // normalised bytes, bound only when the layer has per-point colours
uniform mat4 WCDCMatrix;    // VTK's key matrix (already laid out for GLSL)
uniform float pointDiameter;  // framebuffer pixels
uniform int usePointColors;
uniform vec3 layerColor;
flat out vec3 splatColor;  // one vertex per point: nothing to interpolate
void main() {
  gl_Position = WCDCMatrix * vec4(vertexMC, 1.0);
  gl_PointSize = pointDiameter;
  splatColor = usePointColors == 1 ? colorIn : layerColor;
}
