package marigold4j.train.data;

import org.bytedeco.pytorch.Tensor;

/**
 * One training sample as the original loaders return it ({@code load.py}'s {@code __getitem__} dict).
 *
 * @param rgb float32 (3, H, W) in [-1, 1]
 * @param depth float32 (3, H, W): depth normalised to [-1, 1] by the 2 % / 98 % quantiles, three identical channels
 *     (the VAE's input)
 * @param metric float32 (1, H, W): metric depth clamped to the quantiles, invalid pixels at the upper quantile
 * @param normals float32 (3, H, W): unit normals (x left, y up, z towards the camera), zero where invalid
 * @param valMask bool (1, H, W): depth inside the near / far planes
 * @param domain {@code "indoor"} (Hypersim) or {@code "outdoor"} (Virtual KITTI 2)
 */
public record TrainingItem(Tensor rgb, Tensor depth, Tensor metric, Tensor normals, Tensor valMask, String domain) {}
