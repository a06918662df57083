// VtkViewWidget: a QOpenGLWidget that hosts a vtkGenericOpenGLRenderWindow (the Qt 6 <-> VTK 9 adapter).
// VTK renders into its own framebuffer inside Qt's context; paintGL blits that into Qt's FBO.
#pragma once
#include <QColor>
#include <QImage>
#include <QOpenGLWidget>
#include <QPointF>
#include <QSize>
#include <QSurfaceFormat>
#include <memory>

class vtkCamera;
class vtkRenderer;
class vtkRenderWindow;

namespace tl::ui {

class VtkViewWidget : public QOpenGLWidget {
    Q_OBJECT
public:
    // How mouse input moves the camera.
    enum class Interaction {
        Pan2D,       // parallel projection; left/middle drag pans, wheel/right drag zooms (default)
        Trackball3D  // perspective; left drag rotates, middle pans, wheel/right drag zooms
    };

    explicit VtkViewWidget(QWidget* parent = nullptr);
    ~VtkViewWidget() override;

    // The surface format VTK needs (OpenGL 3.2 core, depth 24, stencil 8, no MSAA).
    static QSurfaceFormat surfaceFormat();
    // Installs surfaceFormat() as Qt's default. Call once before constructing the QApplication.
    static void setDefaultSurfaceFormat();

    // The one renderer of this view (owned by the view; valid for its lifetime). For ui code only:
    // include the VTK headers in the .cpp that uses it.
    vtkRenderer* renderer() const;
    vtkRenderWindow* renderWindow() const;

    void setBackground(const QColor& color);
    QColor background() const;

    void setInteraction(Interaction mode);
    Interaction interaction() const;

    // Fits the camera to all visible props (2-D: the xy bounds, `margin` as a fraction of the extent
    // on each side, and `padLeftPx` / `padBottomPx` pixels kept free for axis labels). Applied at the
    // next paint, when the framebuffer size is known.
    void resetCamera(double margin = 0.06, double padLeftPx = 0, double padBottomPx = 0);

    // Bounds {x0,x1,y0,y1,z0,z1} that resetCamera() fits (nullptr: the visible props' bounds).
    void setFitBounds(const double* bounds);
    // Makes this view use `camera` (shared by linked views; the caller keeps it alive).
    void setCamera(vtkCamera* camera);

    // Schedules a repaint (cheap; coalesced by Qt). Call after changing layers.
    void requestRender();

    // Renders now and returns the widget's framebuffer (device pixels, top-left origin, RGB opaque).
    QImage grabImage();

    // Framebuffer position (device pixels, top-left origin, as in grabImage()) of a world point,
    // through the camera used for the last render.
    QPointF worldToPixel(double x, double y, double z = 0.0) const;
    // Size of the framebuffer in device pixels.
    QSize framebufferSize() const;

    // Number of completed paints (renders + blits) since construction.
    int frameCount() const;

signals:
    // Emitted after each completed paint.
    void frameRendered();
    // The user moved the camera (drag, wheel, 'r'): linked views should repaint.
    void cameraInteracted();

protected:
    void initializeGL() override;
    void resizeGL(int w, int h) override;
    void paintGL() override;

    bool event(QEvent* e) override;
    void mousePressEvent(QMouseEvent* e) override;
    void mouseReleaseEvent(QMouseEvent* e) override;
    void mouseDoubleClickEvent(QMouseEvent* e) override;
    void mouseMoveEvent(QMouseEvent* e) override;
    void wheelEvent(QWheelEvent* e) override;
    void keyPressEvent(QKeyEvent* e) override;
    void keyReleaseEvent(QKeyEvent* e) override;

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
    void finalizeGL();
    void applyPendingCameraFit();
};

}  // namespace tl::ui
