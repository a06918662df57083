// Flat, antialiased round point: fragment-shader snippet spliced into VTK's polydata shader after
// //VTK::TCoord::Impl. coverage = clamp((1 - r)/px + 1/2, 0, 1), r = |2 gl_PointCoord - 1|, px = 2/diameter.
// Uniform tlPointDiameter: the point size in framebuffer pixels (set by tl::ui::PointCloudLayer).
  {
    vec2 tlOffset = 2.0 * gl_PointCoord - 1.0;
    float tlRadius = length(tlOffset);
    float tlPixel = 2.0 / max(tlPointDiameter, 1.0);
    float tlCoverage = clamp((1.0 - tlRadius) / tlPixel + 0.5, 0.0, 1.0);
    if (tlCoverage <= 0.0) discard;
    gl_FragData[0].a *= tlCoverage;
  }
