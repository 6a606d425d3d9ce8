// Row-major Eigen views for the large GEMMs outside the time loop (input projection, weight and
// input gradients): each is ONE Eigen product over all B*T rows.
#pragma once

#include <cstdint>

#include <Eigen/Core>

namespace rnnkit::cpu {

template <typename T>
using RowMajorMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using MatrixView = Eigen::Map<RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <typename T>
using ConstMatrixView = Eigen::Map<const RowMajorMatrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <typename T>
MatrixView<T> matrix(T* data, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  return MatrixView<T>(data, rows, cols, Eigen::OuterStride<>(ld));
}
template <typename T>
ConstMatrixView<T> matrix(const T* data, std::int64_t rows, std::int64_t cols, std::int64_t ld) {
  return ConstMatrixView<T>(data, rows, cols, Eigen::OuterStride<>(ld));
}

}  // namespace rnnkit::cpu
