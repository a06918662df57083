//VTK::System::Dec
//VTK::Output::Dec
// Antialiased round point: coverage = clamp((1 - r)/px + 1/2, 0, 1), r = |2 gl_PointCoord - 1|,
// px = 2/diameter (one framebuffer pixel in point units), times the layer opacity.
flat in vec3 splatColor;
uniform float pointDiameter;
uniform float layerOpacity;
void main() {
  float r = length(2.0 * gl_PointCoord - 1.0);
  float coverage = clamp((1.0 - r) * 0.5 * max(pointDiameter, 1.0) + 0.5, 0.0, 1.0);
  if (coverage <= 0.0) discard;
  gl_FragData[0] = vec4(splatColor, layerOpacity * coverage);
}
