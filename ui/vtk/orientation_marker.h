// OrientationMarker: the x/y/z axes triad in the lower-left corner of a 3-D view that turns with the
// view's camera (issue 11's orientation widget). It is its own renderer on layer 1 of the render window,
// over a square corner of the host viewport, looking at the triad from the main camera's direction with
// its view-up; it takes no input, so it never steals a drag from the view. Drawn the same on screen
// (VtkViewWidget) and in the exports (OffscreenView viewports), so a picture of a 3-D view shows it too.
// GUI thread only (VTK objects).
#pragma once
#include <memory>

class vtkCamera;
class vtkRenderWindow;
class vtkRenderer;

namespace tl::ui {

class OrientationMarker {
public:
    OrientationMarker();
    ~OrientationMarker();
    OrientationMarker(const OrientationMarker&) = delete;
    OrientationMarker& operator=(const OrientationMarker&) = delete;

    // Adds the marker to `window` over the lower-left corner of `host`'s viewport (once).
    void attach(vtkRenderWindow* window, vtkRenderer* host);
    void setVisible(bool on);
    bool visible() const;
    // Points the marker's camera like `camera` and sizes its corner (a square of `fraction` of the host
    // viewport's shorter side, at least 48 pixels). Call before each render of the window.
    void sync(vtkCamera* camera, double fraction = 0.2);
    vtkRenderer* renderer() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
