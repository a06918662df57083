//VTK::System::Dec
//VTK::Output::Dec
// Antialiased round point: coverage = clamp((1 - r)/px + 1/2, 0, 1), r = |2 gl_PointCoord - 1|,
// px = 2/diameter (one framebuffer pixel in point units), times the layer opacity.
uniform float halfDiameter;   // max(diameter, 1) / 2
uniform float layerOpacity;
#ifdef TL_POINT_COLORS
flat in vec3 splatColor;
#else
uniform vec3 layerColor;
#endif
void main() {
  float r = length(2.0 * gl_PointCoord - 1.0);
  float coverage = clamp((1.0 - r) * halfDiameter + 0.5, 0.0, 1.0);
  if (coverage <= 0.0) discard;
#ifdef TL_POINT_COLORS
  gl_FragData[0] = vec4(splatColor, layerOpacity * coverage);
#else
  gl_FragData[0] = vec4(layerColor, layerOpacity * coverage);
#endif
}
