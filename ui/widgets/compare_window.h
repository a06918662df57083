// CompareWindow: the scenario's panels side by side (2 x 2 for 3-4), each a VTK view of one
// dynamics' particles over the faint target, with a shared timeline (play/pause, scrub, speed,
// loop, step). A tl::Runner computes the frames on its thread; this window only reads finished
// frames and hands their coordinates to VTK on the GUI thread.
#pragma once
#include <QMainWindow>
#include <memory>

#include "engine/scenario.h"

namespace tl::ui {

class CompareWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit CompareWindow(const Scenario& scenario, QWidget* parent = nullptr);
    ~CompareWindow() override;

    // Shows every panel at time t in [0, 1] (the last computed frame at or before t).
    void setTime(double t);
    double time() const;
    void setPlaying(bool playing);
    bool isPlaying() const;
    // True once every panel has finished (done or failed) or the measures failed to sample.
    bool computationFinished() const;
    // The measures could not be sampled ("" when they were).
    QString samplingError() const;
    // Renders all views now and returns the window's image.
    QImage grabWindowImage();

protected:
    void keyPressEvent(QKeyEvent* e) override;

private slots:
    void onRunnerUpdate();
    void onTick();

private:
    struct Impl;
    std::unique_ptr<Impl> d_;
};

}  // namespace tl::ui
