// Camera fitting shared by the on-screen views and the offscreen exports (one rule, one place).
#pragma once

class vtkRenderer;

namespace tl::ui {

// Fits r's active camera to `bounds` {x0,x1,y0,y1,z0,z1} (nullptr: the visible props' bounds) with
// `margin` as a fraction of the extent on each side. 2-D: parallel projection looking down -z, the
// whole xy box inside a viewport of width/height `aspect`. 3-D: perspective, VTK's reset then zoomed
// out by the margin. 2-D only: `padLeft` and `padBottom` (fractions of the viewport's width and height)
// are kept free on the left and at the bottom besides the margin, for the axes' tick labels.
// Returns false when there is nothing to fit.
bool fitCamera(vtkRenderer* r, double aspect, double margin, bool threeD, const double* bounds = nullptr, double padLeft = 0,
               double padBottom = 0);

}  // namespace tl::ui
