// PointCloudLayer: shows a tl::PointCloud (d = 1..3; missing coordinates are 0) as round points of one
// colour in a VTK renderer. setPoints() rewrites the coordinates in place: cheap per-frame updates.
#pragma once
#include <QColor>
#include <cstddef>
#include <memory>
#include <vector>

class vtkRenderer;

namespace tl {
struct PointCloud;
}

namespace tl::ui {

class PointCloudLayer {
public:
    enum class PointStyle {
        Disc,   // flat, antialiased splat (shaders/point_splat.*.glsl, drawn by our own program); 2-D default
        Sphere  // lit sphere impostor (VTK's RenderPointsAsSpheres); for 3-D clouds
    };

    PointCloudLayer();
    explicit PointCloudLayer(const PointCloud& cloud);
    ~PointCloudLayer();  // detaches from its renderer
    PointCloudLayer(const PointCloudLayer&) = delete;
    PointCloudLayer& operator=(const PointCloudLayer&) = delete;

    // Shows the layer in `renderer` (one renderer at a time; attaching again moves it). nullptr detaches.
    void attach(vtkRenderer* renderer);
    void detach();
    vtkRenderer* renderer() const;

    // Copies the coordinates into the layer's point buffer (reallocated only when the count changes).
    // Throws tl::Error when cloud.dim is not 1, 2 or 3 or the coordinate array is ragged.
    void setPoints(const PointCloud& cloud);
    // The same from raw row-major coordinates (n rows of dim values), without building a PointCloud.
    void setPoints(const double* coords, std::size_t n, int dim);
    std::size_t size() const;

    // One colour for every point (used when no per-point colours are set).
    void setColor(const QColor& color);
    QColor color() const;
    // Per-point colours, RGB bytes (3 per point, same order as the points); empty = the layer colour.
    // Throws tl::Error when the size does not match the current point count.
    void setColors(const std::vector<unsigned char>& rgb);
    void clearColors();
    // Diameter of a point in framebuffer pixels (multiply by devicePixelRatio for logical pixels).
    void setPointSize(double pixels);
    double pointSize() const;
    void setPointStyle(PointStyle style);
    PointStyle pointStyle() const;
    void setOpacity(double opacity);
    double opacity() const;
    void setVisible(bool visible);
    bool isVisible() const;

    // Number of times the coordinate buffer was reallocated (for tests: updates stay in place).
    int reallocationCount() const;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
