#include "vtk/camera_fit.h"

#include <algorithm>

#include <vtkCamera.h>
#include <vtkRenderer.h>

namespace tl::ui {

bool fitCamera(vtkRenderer* r, double aspect, double margin, bool threeD, const double* bounds) {
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
    double scale = std::max(hh, hw / aspect) * (1.0 + 2.0 * margin);
    if (!(scale > 0.0)) scale = 1.0;
    const double distance = 4.0 * std::max({hw, hh, hd, scale}) + 1.0;
    cam->ParallelProjectionOn();
    cam->SetFocalPoint(cx, cy, cz);
    cam->SetPosition(cx, cy, cz + distance);
    cam->SetViewUp(0.0, 1.0, 0.0);
    cam->SetParallelScale(scale);
    r->ResetCameraClippingRange(b);
    return true;
}

}  // namespace tl::ui
