// TimelineBar: the compare window's playback strip under the views — play / pause, one frame back /
// forward, the time slider, the time label, the playback speed, loop, and the computation's progress
// with its cancel button. It holds no time of its own: it reports the user's requests as signals and
// shows what the window tells it (GUI thread only).
#pragma once
#include <QWidget>
#include <array>

class QCheckBox;
class QComboBox;
class QLabel;
class QProgressBar;
class QSlider;
class QToolButton;

namespace tl::ui {

class TimelineBar : public QWidget {
    Q_OBJECT
public:
    // The playback speeds offered (the one table): factor 1 plays t from 0 to 1 in kSecondsPerRun.
    struct Speed {
        const char* label;
        double factor;
    };
    static constexpr std::array<Speed, 4> kSpeeds{{{"0.25x", 0.25}, {"0.5x", 0.5}, {"1x", 1.0}, {"2x", 2.0}}};
    static constexpr int kDefaultSpeed = 2;  // 1x
    static constexpr double kSecondsPerRun = 4.0;

    explicit TimelineBar(QWidget* parent = nullptr);

    // The play button's text follows the state (emits nothing).
    void setPlaying(bool playing);
    // Frames per run: the slider's range (emits nothing).
    void setFrameCount(int frames);
    // Moves the handle to `frame` unless the user holds it (emits nothing).
    void showFrame(int frame);
    // The label: scenario time t (fraction * duration), with fewer decimals for long runs.
    void showTime(double t);
    // The fraction of a run that `seconds` of playback covers at the chosen speed.
    double advance(double seconds) const;
    bool loops() const;
    // The computation's progress (fraction in [0, 1]) and whether it (and Cancel) is shown.
    void setProgress(double fraction);
    void setComputing(bool computing);
    QSlider* slider() const;

signals:
    void playPauseClicked();
    void stepClicked(int direction);  // -1 or +1 frame
    void frameScrubbed(int frame);    // every user change of the slider (drag, click, wheel, keys)
    void cancelClicked();

private:
    QToolButton* play_ = nullptr;
    QSlider* slider_ = nullptr;
    bool settingSlider_ = false;  // the window is moving the handle
    QLabel* timeLabel_ = nullptr;
    QComboBox* speed_ = nullptr;
    QCheckBox* loop_ = nullptr;
    QProgressBar* progress_ = nullptr;
    QToolButton* cancel_ = nullptr;
};

}  // namespace tl::ui
