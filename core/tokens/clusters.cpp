#include "tokens/clusters.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "kernels/reduce.h"
#include "util/parallel.h"

namespace tl::tokens {

namespace {

struct UnionFind {
    std::vector<int> parent;
    explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
    int find(int a) {
        while (parent[a] != a) a = parent[a] = parent[parent[a]];
        return a;
    }
    void unite(int a, int b) {
        a = find(a), b = find(b);
        if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
};

}  // namespace

int countClusters(const double* x, std::size_t n, int dim, double tolerance, std::vector<int>* labels) {
    if (n == 0) {
        if (labels) labels->clear();
        return 0;
    }
    // Cells of side tolerance / sqrt(dim): any two tokens in one cell are linked; tokens of cells up
    // to ceil(sqrt(dim)) apart may be.
    const double side = tolerance / std::sqrt(static_cast<double>(dim));
    const int reach = static_cast<int>(std::ceil(std::sqrt(static_cast<double>(dim))));
    auto cellOf = [&](std::size_t i) {
        std::array<long long, 3> c{0, 0, 0};
        for (int k = 0; k < dim; ++k) c[k] = static_cast<long long>(std::floor(x[i * dim + k] / side));
        return c;
    };
    auto key = [](const std::array<long long, 3>& c) {
        return static_cast<long long>(((c[0] * 73856093LL) ^ (c[1] * 19349663LL) ^ (c[2] * 83492791LL)));
    };
    std::unordered_map<long long, std::vector<std::pair<std::array<long long, 3>, std::vector<int>>>> grid;
    std::vector<std::array<long long, 3>> cells(n);
    for (std::size_t i = 0; i < n; ++i) {
        cells[i] = cellOf(i);
        auto& bucket = grid[key(cells[i])];
        auto it = std::find_if(bucket.begin(), bucket.end(), [&](const auto& e) { return e.first == cells[i]; });
        if (it == bucket.end()) bucket.push_back({cells[i], {static_cast<int>(i)}});
        else it->second.push_back(static_cast<int>(i));
    }
    UnionFind uf(n);
    const double tol2 = tolerance * tolerance;
    auto members = [&](const std::array<long long, 3>& c) -> const std::vector<int>* {
        auto it = grid.find(key(c));
        if (it == grid.end()) return nullptr;
        for (const auto& e : it->second)
            if (e.first == c) return &e.second;
        return nullptr;
    };
    auto close = [&](int a, int b) {
        double d2 = 0;
        for (int k = 0; k < dim; ++k) {
            const double t = x[a * dim + k] - x[b * dim + k];
            d2 += t * t;
        }
        return d2 < tol2;
    };
    // Each cell: its members are one component; link to each neighbouring cell (visited once per
    // ordered pair with the neighbour "after" it) on the first close pair found.
    for (auto& [k, bucket] : grid)
        for (const auto& [c, mem] : bucket) {
            for (std::size_t m = 1; m < mem.size(); ++m) uf.unite(mem[0], mem[m]);
            std::array<long long, 3> o{0, 0, 0};
            const int rz = dim > 2 ? reach : 0, ry = dim > 1 ? reach : 0;
            for (o[2] = -rz; o[2] <= rz; ++o[2])
                for (o[1] = -ry; o[1] <= ry; ++o[1])
                    for (o[0] = -reach; o[0] <= reach; ++o[0]) {
                        if (o[0] == 0 && o[1] == 0 && o[2] == 0) continue;
                        const std::array<long long, 3> nc{c[0] + o[0], c[1] + o[1], c[2] + o[2]};
                        if (nc < c) continue;  // each unordered pair of cells once
                        const std::vector<int>* other = members(nc);
                        if (!other || uf.find(mem[0]) == uf.find((*other)[0])) continue;
                        bool linked = false;
                        for (int a : mem) {
                            for (int b : *other)
                                if (close(a, b)) {
                                    linked = true;
                                    break;
                                }
                            if (linked) break;
                        }
                        if (linked) uf.unite(mem[0], (*other)[0]);
                    }
        }
    std::vector<int> id(n, -1);
    int count = 0;
    if (labels) labels->assign(n, 0);
    for (std::size_t i = 0; i < n; ++i) {
        const int r = uf.find(static_cast<int>(i));
        if (id[r] < 0) id[r] = count++;
        if (labels) (*labels)[i] = id[r];
    }
    return count;
}

double minCosine(const double* x, std::size_t n, int dim, int threads) {
    if (n < 2) return 1;
    std::vector<double> u(n * dim);
    for (std::size_t i = 0; i < n; ++i) {
        double r = 0;
        for (int k = 0; k < dim; ++k) r += x[i * dim + k] * x[i * dim + k];
        r = r > 0 ? 1 / std::sqrt(r) : 0;
        for (int k = 0; k < dim; ++k) u[i * dim + k] = x[i * dim + k] * r;
    }
    std::vector<double> rowMin(n, 1.0);
    parallelFor(n, 64, threads, [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            double m = 1;
            for (std::size_t j = i + 1; j < n; ++j) {
                double c = 0;
                for (int k = 0; k < dim; ++k) c += u[i * dim + k] * u[j * dim + k];
                m = std::min(m, c);
            }
            rowMin[i] = m;
        }
    });
    return *std::min_element(rowMin.begin(), rowMin.end());
}

double attentionEnergy(const double* x, std::size_t n, int dim, double beta, int threads) {
    if (n == 0 || !(beta > 0)) return std::numeric_limits<double>::quiet_NaN();
    // beta <x_i, x_j> = -beta/2 |x_i - x_j|^2 + beta/2 |x_i|^2 + beta/2 |x_j|^2
    std::vector<double> h(n), half(n), lse(n);
    for (std::size_t i = 0; i < n; ++i) {
        double r = 0;
        for (int k = 0; k < dim; ++k) r += x[i * dim + k] * x[i * dim + k];
        half[i] = 0.5 * beta * r;
        h[i] = half[i];
    }
    kernels::logSumExp(kernels::PairSet<double>{dim, x, n, x, n, h.data(), 0.5 * beta}, lse.data(), threads);
    double m = -INFINITY;
    for (std::size_t i = 0; i < n; ++i) m = std::max(m, lse[i] + half[i]);
    double s = 0;
    for (std::size_t i = 0; i < n; ++i) s += std::exp(lse[i] + half[i] - m);
    return std::exp(m + std::log(s) - std::log(2 * beta) - 2 * std::log(static_cast<double>(n)));
}

}  // namespace tl::tokens
