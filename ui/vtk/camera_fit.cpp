#include "vtk/camera_fit.h"

#include <algorithm>

#include <vtkCamera.h>
#include <vtkRenderer.h>

namespace tl::ui {

bool fitCamera(vtkRenderer* r, double aspect, double margin, bool threeD, const double* bounds, double padLeft, double padBottom) {
    vtkCamera* cam = r->GetActiveCamera();
    double b[6];
    if (bounds) std::copy(bounds, bounds + 6, b);
    else r->ComputeVisiblePropBounds(b);
    if (!(b[0] <= b[1] && b[2] <= b[3] && b[4] <= b[5])) return false;  // nothing visible yet
    if (threeD) {
        cam->ParallelProjectionOff();
        r->ResetCamera(b);
        cam->Zoom(1.0 / (1.0 + 2.0 * margin));
        r->ResetCameraClippingRange(b);
        return true;
    }
    const double cx = 0.5 * (b[0] + b[1]), cy = 0.5 * (b[2] + b[3]), cz = 0.5 * (b[4] + b[5]);
    const double hw = 0.5 * (b[1] - b[0]), hh = 0.5 * (b[3] - b[2]), hd = 0.5 * (b[5] - b[4]);
    if (!(aspect > 0)) aspect = 1.0;
    // The box with its margins must fit the part of the viewport left after the pads: (1 - padLeft) of
    // the width, (1 - padBottom) of the height; its centre goes to that part's centre.
    const double fx = 1.0 - std::clamp(padLeft, 0.0, 0.5), fy = 1.0 - std::clamp(padBottom, 0.0, 0.5);
    double scale = std::max(hh / fy, hw / (aspect * fx)) * (1.0 + 2.0 * margin);
    if (!(scale > 0.0)) scale = 1.0;
    const double distance = 4.0 * std::max({hw, hh, hd, scale}) + 1.0;
    // The visible world box is 2 scale aspect wide and 2 scale high: shift the camera left and down
    // by half the pads.
    const double camX = cx - (1.0 - fx) * scale * aspect, camY = cy - (1.0 - fy) * scale;
    cam->ParallelProjectionOn();
    cam->SetFocalPoint(camX, camY, cz);
    cam->SetPosition(camX, camY, cz + distance);
    cam->SetViewUp(0.0, 1.0, 0.0);
    cam->SetParallelScale(scale);
    r->ResetCameraClippingRange(b);
    return true;
}

}  // namespace tl::ui
