"""SIFT features, a FLANN index over a whole validation set, and the
near-duplicate decision for one pool image.

Matching one pool image against *all* validation images costs one k-NN query
per pool keypoint against a kd-tree forest that holds every validation
descriptor (with a descriptor -> image id map), not a loop over validation
images; with a fixed number of FLANN ``checks`` the query time grows only
slowly (about logarithmically) with the validation set.

Decision for a pool image:

1. Lowe's ratio test on the 2 nearest validation descriptors
   (``d1 < ratio * d2``) keeps distinctive matches.
2. Good matches are grouped by validation image; the ``candidates`` images
   with most matches go to geometric verification.
3. RANSAC fits an affine map (``cv2.estimateAffine2D``: resize, crop,
   aspect change, small rotation) from the pool keypoints to the validation
   keypoints; maps that fold, collapse or blow up the image are rejected.
4. The score is the number of RANSAC inliers (counted once per validation
   keypoint); ``score >= min_inliers`` marks a duplicate.

Horizontally flipped copies are found by also querying the *mirrored*
descriptors of the pool image (SIFT descriptors of a mirrored image are a
fixed permutation of the original ones: spatial rows reversed, orientation
bins negated), with mirrored keypoint x coordinates; no second feature
extraction is needed.
"""
from typing import NamedTuple, Tuple

import cv2
import numpy as np

#: Defaults shared by the CLI, the docs and the tests.
DEFAULTS = dict(
    max_side=512,
    max_keypoints=500,
    ratio=0.75,
    min_inliers=15,
    candidates=3,
    ransac_thresh=5.0,
    flann_trees=4,
    flann_checks=64,
    check_flip=True)


class SiftFeatures(NamedTuple):
    """Keypoints of one image.

    Attributes:
        xy (np.ndarray): ``(N, 2)`` float32 keypoint positions in the resized
            image.
        desc (np.ndarray): ``(N, 128)`` float32 SIFT descriptors.
        width (int): Width of the resized image (for mirroring).
    """
    xy: np.ndarray
    desc: np.ndarray
    width: int


class Match(NamedTuple):
    """Best validation match of a pool image.

    Attributes:
        val_id (int): Index of the validation image, -1 if none verified.
        inliers (int): RANSAC inliers with it (the score), 0 if none.
        mirrored (bool): Whether the mirrored pool image matched.
        good_matches (int): Ratio-test matches with that image.
    """
    val_id: int
    inliers: int
    mirrored: bool
    good_matches: int


def load_gray(path: str, max_side: int) -> np.ndarray:
    """Read an image as grayscale uint8, downscaled to ``max_side``.

    JPEGs are decoded at a reduced DCT scale where possible (PIL's draft
    mode), which makes large photos several times cheaper to read.

    Raises:
        OSError / ValueError: If the file is missing or cannot be decoded
            (truncated files raise too).
    """
    from PIL import Image
    with Image.open(path) as im:
        if im.format == 'JPEG':
            im.draft('L', (max_side, max_side))
        im = im.convert('L')
        gray = np.asarray(im)
    h, w = gray.shape[:2]
    if h < 8 or w < 8:
        raise ValueError(f'image too small: {w}x{h}')
    scale = max_side / max(h, w)
    if scale < 1:
        gray = cv2.resize(
            gray, (max(1, round(w * scale)), max(1, round(h * scale))),
            interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(gray)


_SIFT_CACHE = {}


def _sift(max_keypoints: int):
    sift = _SIFT_CACHE.get(max_keypoints)
    if sift is None:
        sift = _SIFT_CACHE[max_keypoints] = cv2.SIFT_create(nfeatures=max_keypoints)
    return sift


def extract_sift(gray: np.ndarray, max_keypoints: int = 500) -> SiftFeatures:
    """SIFT keypoints of a grayscale image, the strongest ``max_keypoints``."""
    kps, desc = _sift(max_keypoints).detectAndCompute(gray, None)
    if desc is None or not kps:
        return SiftFeatures(
            np.zeros((0, 2), np.float32), np.zeros((0, 128), np.float32), gray.shape[1])
    if len(kps) > max_keypoints:  # OpenCV may keep ties beyond nfeatures
        order = np.argsort([-k.response for k in kps], kind='stable')[:max_keypoints]
        kps = [kps[i] for i in order]
        desc = desc[order]
    xy = np.array([k.pt for k in kps], dtype=np.float32).reshape(-1, 2)
    return SiftFeatures(xy, np.ascontiguousarray(desc, dtype=np.float32), gray.shape[1])


# SIFT descriptor layout (OpenCV): 4 x 4 spatial cells (rows along the
# keypoint's y axis) x 8 orientation bins. A horizontal mirror flips the
# patch about the keypoint's orientation axis: cell rows reverse and the
# relative angle bin b becomes (-b) mod 8.
_MIRROR_PERM = np.arange(128).reshape(4, 4, 8)[::-1, :, (-np.arange(8)) % 8] \
    .reshape(-1)


def mirror_features(feats: SiftFeatures) -> SiftFeatures:
    """The features of the horizontally mirrored image (no re-extraction)."""
    xy = feats.xy.copy()
    # OpenCV's SIFT positions (found on the 2x upsampled base image) mirror
    # to ``width - 0.5 - x``, measured on flipped images.
    xy[:, 0] = feats.width - 0.5 - xy[:, 0]
    return SiftFeatures(xy, np.ascontiguousarray(feats.desc[:, _MIRROR_PERM]),
                        feats.width)


def _plausible(affine: np.ndarray,
               max_scale: float = 8.0,
               max_anisotropy: float = 3.0) -> bool:
    """A near-duplicate's map preserves orientation and roughly the shape."""
    if not np.isfinite(affine).all():
        return False
    a = affine[:, :2]
    if np.linalg.det(a) <= 0:
        return False
    s = np.linalg.svd(a, compute_uv=False)
    return (1 / max_scale <= s[1] and s[0] <= max_scale
            and s[0] / max(s[1], 1e-9) <= max_anisotropy)


def verify_geometry(src: np.ndarray, dst: np.ndarray, dst_ids: np.ndarray,
                    ransac_thresh: float) -> int:
    """RANSAC inliers of an affine map ``src -> dst`` (0 if implausible).

    Inliers are counted once per distinct ``dst_ids`` (validation keypoint),
    so several pool keypoints piled on one validation keypoint count once.
    """
    if len(src) < 3:
        return 0
    affine, mask = cv2.estimateAffine2D(
        src.reshape(-1, 1, 2),
        dst.reshape(-1, 1, 2),
        method=cv2.RANSAC,
        ransacReprojThreshold=ransac_thresh,
        maxIters=2000,
        confidence=0.995,
        refineIters=10)
    if affine is None or mask is None or not _plausible(affine):
        return 0
    inl = mask.ravel().astype(bool)
    return int(len(np.unique(dst_ids[inl])))


class SiftIndex:
    """A FLANN kd-tree forest over all validation descriptors.

    Args:
        desc (np.ndarray): ``(M, 128)`` float32 descriptors of all validation
            images, concatenated.
        xy (np.ndarray): ``(M, 2)`` their keypoint positions.
        image_ids (np.ndarray): ``(M,)`` validation image of each descriptor.
        trees (int): Randomised kd-trees. Defaults to 4.
        checks (int): Leaves visited per query (speed/recall). Defaults to 64.
        seed (int): Seed of the randomised trees (OpenCV's RNG is seeded
            with it before building). Defaults to 0.

    Example:
        >>> index = SiftIndex(desc, xy, image_ids)
        >>> match = index.match(extract_sift(load_gray('pool.jpg', 512)))
    """

    def __init__(self,
                 desc: np.ndarray,
                 xy: np.ndarray,
                 image_ids: np.ndarray,
                 trees: int = 4,
                 checks: int = 64,
                 seed: int = 0) -> None:
        if not len(desc) == len(xy) == len(image_ids):
            raise ValueError(f'desc, xy and image_ids differ in length: '
                             f'{len(desc)}, {len(xy)}, {len(image_ids)}')
        if trees < 1 or checks < 1:
            raise ValueError(f'trees and checks must be >= 1, got {trees}, {checks}')
        self.desc = np.ascontiguousarray(desc, dtype=np.float32)
        self.xy = np.ascontiguousarray(xy, dtype=np.float32)
        self.image_ids = np.ascontiguousarray(image_ids, dtype=np.int64)
        self.checks = int(checks)
        self._index = None
        if len(self.desc) >= 2:
            # The kd-trees are randomised with OpenCV's RNG: a fixed seed
            # makes the index, hence every decision, reproducible (a resumed
            # run must equal an uninterrupted one).
            cv2.setRNGSeed(seed)
            self._index = cv2.flann_Index(self.desc,
                                          dict(algorithm=1, trees=int(trees)))  # KDTREE

    def __len__(self) -> int:
        return len(self.desc)

    def knn2(self, desc: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Two nearest validation descriptors: indices and squared distances."""
        idx, dist = self._index.knnSearch(
            np.ascontiguousarray(desc, dtype=np.float32),
            2,
            params=dict(checks=self.checks))
        return idx.astype(np.int64), dist

    def match(self,
              feats: SiftFeatures,
              ratio: float = 0.75,
              min_inliers: int = 15,
              candidates: int = 3,
              ransac_thresh: float = 5.0,
              check_flip: bool = True) -> Match:
        """The best verified validation match of one pool image.

        Args:
            feats (SiftFeatures): The pool image's features.
            ratio (float): Lowe's ratio. Defaults to 0.75.
            min_inliers (int): Candidates need at least this many ratio-test
                matches to be verified. Defaults to 15.
            candidates (int): Validation images verified per orientation.
            ransac_thresh (float): RANSAC reprojection threshold in pixels of
                the resized images. Defaults to 5.
            check_flip (bool): Also match the mirrored image. Defaults to True.

        Returns:
            Match: The validation image with most inliers (``val_id`` -1 when
            no candidate had enough matches).
        """
        best = Match(-1, 0, False, 0)
        n = len(feats.desc)
        if self._index is None or n < 3:
            return best
        views = [(False, feats)]
        if check_flip:
            views.append((True, mirror_features(feats)))
        all_desc = np.concatenate([v.desc for _, v in views])
        nn, dist = self.knn2(all_desc)
        good = dist[:, 0] < (ratio * ratio) * dist[:, 1]  # squared L2
        for v, (mirrored, view) in enumerate(views):
            sl = slice(v * n, (v + 1) * n)
            g = np.flatnonzero(good[sl])
            if len(g) < max(min_inliers, 3):
                continue
            val_kp = nn[sl, 0][g]
            img = self.image_ids[val_kp]
            uniq, counts = np.unique(img, return_counts=True)
            order = np.argsort(-counts, kind='stable')[:candidates]
            for j in order:
                if counts[j] < max(min_inliers, 3) or counts[j] <= best.inliers:
                    continue
                sel = img == uniq[j]
                inl = verify_geometry(view.xy[g[sel]], self.xy[val_kp[sel]],
                                      val_kp[sel], ransac_thresh)
                if inl > best.inliers:
                    best = Match(int(uniq[j]), inl, mirrored, int(counts[j]))
        return best
