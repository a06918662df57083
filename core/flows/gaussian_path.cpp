#include "flows/gaussian_path.h"

namespace tl {

Eigen::MatrixXd GaussianPath::velocity(double t, const Eigen::MatrixXd& X) const {
    const Eigen::MatrixXd A = velocityMatrix(t);
    const Eigen::RowVectorXd mt = meanAt(t).transpose();
    const Eigen::RowVectorXd dm = (m1 - m0).transpose();
    return ((X.rowwise() - mt) * A.transpose()).rowwise() + dm;
}

Eigen::MatrixXd gaugeGenerator(int dim) {
    Eigen::MatrixXd S = Eigen::MatrixXd::Zero(dim, dim);
    if (dim >= 2) {
        S(0, 1) = 1;
        S(1, 0) = -1;
    }
    return S;
}

Eigen::MatrixXd gaugeField(double lambda, const Eigen::VectorXd& mean, const Eigen::MatrixXd& cov, const Eigen::MatrixXd& X) {
    const int d = static_cast<int>(mean.size());
    const Eigen::MatrixXd M = lambda * gaugeGenerator(d) * cov.inverse();
    return (X.rowwise() - mean.transpose()) * M.transpose();
}

}  // namespace tl
