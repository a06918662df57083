// OffscreenView: a hidden VTK render window of a fixed size in pixels, split into a grid of viewports
// (one renderer each, sharing one camera), rendered and read back as a QImage. Used by the exports and
// `transportlab-cli render`; needs an X server (Xvfb) like every VTK window on this platform.
// GUI thread only.
#pragma once
#include <QColor>
#include <QImage>
#include <memory>

class vtkRenderer;
class vtkCamera;

namespace tl::ui {

class OffscreenView {
public:
    // Throws tl::Error for a size outside 16..8192 or a grid that does not fit.
    OffscreenView(int width, int height, int rows, int cols, const QColor& background);
    ~OffscreenView();
    OffscreenView(const OffscreenView&) = delete;
    OffscreenView& operator=(const OffscreenView&) = delete;

    int viewports() const;
    vtkRenderer* renderer(int k) const;
    vtkCamera* camera() const;
    // Width / height of one viewport in pixels.
    double viewportAspect() const;
    // An x/y/z orientation triad in the lower-left corner of every viewport (3-D views), as on screen.
    void setOrientationMarkers(bool on);
    // Renders every viewport and returns the whole window (width x height, RGB888, top row first).
    QImage render();

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
