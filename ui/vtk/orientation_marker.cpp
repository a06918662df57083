#include "vtk/orientation_marker.h"

#include <algorithm>
#include <cmath>

#include <vtkAxesActor.h>
#include <vtkCamera.h>
#include <vtkCaptionActor2D.h>
#include <vtkNew.h>
#include <vtkProperty.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkTextActor.h>
#include <vtkTextProperty.h>

namespace tl::ui {

struct OrientationMarker::Impl {
    vtkNew<vtkRenderer> renderer;
    vtkNew<vtkAxesActor> axes;
    vtkRenderWindow* window = nullptr;
    vtkRenderer* host = nullptr;
    bool visible = true;
};

OrientationMarker::OrientationMarker() : d_(std::make_unique<Impl>()) {
    auto& a = *d_->axes;
    a.SetTotalLength(1, 1, 1);
    a.SetShaftTypeToCylinder();
    a.SetCylinderRadius(0.04);
    a.SetConeRadius(0.45);
    a.SetNormalizedTipLength(0.28, 0.28, 0.28);
    a.SetNormalizedLabelPosition(1.25, 1.25, 1.25);
    // Muted red / green / blue (x / y / z as in every 3-D tool), light labels on the dark background.
    a.GetXAxisShaftProperty()->SetColor(0.86, 0.35, 0.33);
    a.GetXAxisTipProperty()->SetColor(0.86, 0.35, 0.33);
    a.GetYAxisShaftProperty()->SetColor(0.42, 0.78, 0.40);
    a.GetYAxisTipProperty()->SetColor(0.42, 0.78, 0.40);
    a.GetZAxisShaftProperty()->SetColor(0.40, 0.58, 0.92);
    a.GetZAxisTipProperty()->SetColor(0.40, 0.58, 0.92);
    for (vtkCaptionActor2D* c : {a.GetXAxisCaptionActor2D(), a.GetYAxisCaptionActor2D(), a.GetZAxisCaptionActor2D()}) {
        vtkTextProperty* t = c->GetCaptionTextProperty();
        t->SetColor(0.9, 0.9, 0.92);
        t->ShadowOff();
        t->ItalicOff();
        t->BoldOff();
        c->GetTextActor()->SetTextScaleModeToNone();
        t->SetFontSize(13);
    }
    auto& r = *d_->renderer;
    r.SetLayer(1);  // over the host, which keeps its own background
    r.InteractiveOff();
    r.AddActor(d_->axes);
    r.GetActiveCamera()->ParallelProjectionOff();
}

OrientationMarker::~OrientationMarker() {
    if (d_->window) d_->window->RemoveRenderer(d_->renderer);
}

void OrientationMarker::attach(vtkRenderWindow* window, vtkRenderer* host) {
    if (d_->window || !window || !host) return;
    d_->window = window;
    d_->host = host;
    window->SetNumberOfLayers(std::max(window->GetNumberOfLayers(), 2));
    window->AddRenderer(d_->renderer);
    d_->renderer->SetDraw(d_->visible);
}

void OrientationMarker::setVisible(bool on) {
    d_->visible = on;
    d_->renderer->SetDraw(on);
    d_->axes->SetVisibility(on);
}

bool OrientationMarker::visible() const { return d_->visible; }

vtkRenderer* OrientationMarker::renderer() const { return d_->renderer; }

void OrientationMarker::sync(vtkCamera* camera, double fraction) {
    if (!d_->window || !d_->host || !camera) return;
    // Corner: a square of `fraction` of the host viewport's shorter side, in window pixels.
    double vp[4];
    d_->host->GetViewport(vp);
    const int* size = d_->window->GetSize();
    const double w = std::max(1, size[0]), h = std::max(1, size[1]);
    const double hostW = (vp[2] - vp[0]) * w, hostH = (vp[3] - vp[1]) * h;
    const double side = std::min({std::max(48.0, fraction * std::min(hostW, hostH)), hostW, hostH});
    d_->renderer->SetViewport(vp[0], vp[1], vp[0] + side / w, vp[1] + side / h);
    // Same direction of view and view-up as the main camera, at a fixed distance from the triad.
    double pos[3], focal[3], up[3];
    camera->GetPosition(pos);
    camera->GetFocalPoint(focal);
    camera->GetViewUp(up);
    double dir[3] = {pos[0] - focal[0], pos[1] - focal[1], pos[2] - focal[2]};
    const double len = std::sqrt(dir[0] * dir[0] + dir[1] * dir[1] + dir[2] * dir[2]);
    if (!(len > 0) || !std::isfinite(len)) return;
    vtkCamera* mc = d_->renderer->GetActiveCamera();
    constexpr double kDistance = 5.2;  // the triad (length 1 + labels) fills about 80 % of the corner at 30 degrees
    const double c[3] = {0.3, 0.3, 0.3};  // roughly the triad's centre
    mc->SetFocalPoint(c);
    mc->SetPosition(c[0] + kDistance * dir[0] / len, c[1] + kDistance * dir[1] / len, c[2] + kDistance * dir[2] / len);
    mc->SetViewUp(up);
    mc->SetViewAngle(30);
    d_->renderer->ResetCameraClippingRange();
}

}  // namespace tl::ui
