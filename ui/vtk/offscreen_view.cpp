#include "vtk/offscreen_view.h"

#include <string>
#include <vector>

#include <vtkCamera.h>
#include <vtkNew.h>
#include <vtkRenderWindow.h>
#include <vtkRenderer.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>

#include "util/error.h"
#include "vtk/orientation_marker.h"

namespace tl::ui {

struct OffscreenView::Impl {
    vtkSmartPointer<vtkRenderWindow> window;
    std::vector<vtkSmartPointer<vtkRenderer>> renderers;
    vtkSmartPointer<vtkRenderer> backdrop;
    vtkNew<vtkCamera> camera;
    vtkNew<vtkUnsignedCharArray> pixels;
    int width = 0, height = 0, rows = 1, cols = 1;
    std::vector<std::unique_ptr<OrientationMarker>> markers;
};

OffscreenView::OffscreenView(int width, int height, int rows, int cols, const QColor& background) : d_(std::make_unique<Impl>()) {
    if (width < 16 || height < 16 || width > 8192 || height > 8192)
        throw Error("image size " + std::to_string(width) + "x" + std::to_string(height) + " is outside 16..8192 pixels");
    if (rows < 1 || cols < 1 || rows * cols > 16) throw Error("offscreen view: bad grid");
    d_->width = width;
    d_->height = height;
    d_->rows = rows;
    d_->cols = cols;
    d_->window = vtkSmartPointer<vtkRenderWindow>::New();
    d_->window->SetOffScreenRendering(1);
    d_->window->SetMultiSamples(0);
    d_->window->SetSize(width, height);
    d_->window->SetWindowName("TransportLab export");
    d_->camera->ParallelProjectionOn();
    // A full-window renderer first: the gaps between the viewports show its (darker) colour.
    d_->backdrop = vtkSmartPointer<vtkRenderer>::New();
    d_->backdrop->SetBackground(0.5 * background.redF(), 0.5 * background.greenF(), 0.5 * background.blueF());
    d_->backdrop->InteractiveOff();
    d_->window->AddRenderer(d_->backdrop);
    const double gap = (rows * cols > 1) ? 2.0 : 0.0;  // pixels between viewports, like the window's grid
    for (int r = 0; r < rows; ++r)
        for (int c = 0; c < cols; ++c) {
            auto ren = vtkSmartPointer<vtkRenderer>::New();
            // Row 0 at the top (VTK's viewport y goes up).
            const double x0 = (c * (width + gap) / cols) / width, x1 = ((c + 1) * (width + gap) / cols - gap) / width;
            const double y1 = 1.0 - (r * (height + gap) / rows) / height, y0 = 1.0 - ((r + 1) * (height + gap) / rows - gap) / height;
            ren->SetViewport(x0, y0, x1, y1);
            ren->SetBackground(background.redF(), background.greenF(), background.blueF());
            ren->SetActiveCamera(d_->camera);
            d_->window->AddRenderer(ren);
            d_->renderers.push_back(ren);
        }
}

OffscreenView::~OffscreenView() {
    if (d_->window) d_->window->Finalize();
}

int OffscreenView::viewports() const { return static_cast<int>(d_->renderers.size()); }
vtkRenderer* OffscreenView::renderer(int k) const { return d_->renderers.at(static_cast<std::size_t>(k)); }
vtkCamera* OffscreenView::camera() const { return d_->camera; }

double OffscreenView::viewportAspect() const {
    const double gap = d_->renderers.size() > 1 ? 2.0 : 0.0;
    const double w = (d_->width + gap) / d_->cols - gap, h = (d_->height + gap) / d_->rows - gap;
    return w / h;
}

void OffscreenView::setOrientationMarkers(bool on) {
    if (on && d_->markers.empty())
        for (auto& ren : d_->renderers) {
            d_->markers.push_back(std::make_unique<OrientationMarker>());
            d_->markers.back()->attach(d_->window, ren);
        }
    for (auto& m : d_->markers) m->setVisible(on);
}

QImage OffscreenView::render() {
    for (auto& m : d_->markers)
        if (m->visible()) m->sync(d_->camera);
    d_->window->Render();
    const int w = d_->width, h = d_->height;
    d_->window->GetRGBACharPixelData(0, 0, w - 1, h - 1, /*front=*/0, d_->pixels);
    const unsigned char* src = d_->pixels->GetPointer(0);
    QImage img(w, h, QImage::Format_RGB888);
    for (int y = 0; y < h; ++y) {
        const unsigned char* row = src + static_cast<std::size_t>(h - 1 - y) * w * 4;  // VTK rows are bottom-up
        uchar* out = img.scanLine(y);
        for (int x = 0; x < w; ++x) {
            out[3 * x] = row[4 * x];
            out[3 * x + 1] = row[4 * x + 1];
            out[3 * x + 2] = row[4 * x + 2];
        }
    }
    return img;
}

}  // namespace tl::ui
