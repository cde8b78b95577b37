# Reference values for the acceptance trials (tests/test_acceptance_trials.py).
#
# Run from the repository root:  Rscript tests/reference/acceptance_trials.R   (a few seconds)
# Reads the seeded patient data written by tests/_acceptance_trials.py into
# tests/fixtures/acceptance_data/ (a test checks the generator still writes exactly these files)
# and writes tests/fixtures/acceptance_from_r.py (stamped, DO NOT EDIT).
#
# Analysis sets (the ADaM record rules spelled out here, independently of the Python code):
#   adam2: ADSL FASFL == "Y", arm = TRT01A (reference "Vehicle"); ADEFF PARAMCD "ITCHNRS",
#          ANL01FL == "Y", AVISIT not "Unscheduled ...", post-baseline visits (AVISITN 20, 30,
#          40), CHG and BASE not missing. ADTTE PARAMCD "TTFLARE": time AVAL, event 1 - CNSR.
#   dose4: all subjects (ITTFL == "Y"), arm = TRT01P (reference "Placebo"); ADVS PARAMCD "SBP",
#          post-baseline visits (AVISITN 4, 8, 12), CHG and BASE not missing.
# 1. MMRM: nlme::gls(CHG ~ visit * arm + visit * BASE), unstructured covariance (corSymm +
#    varIdent by visit), REML (nlminb and BFGS, the larger log-likelihood kept). Contrast of each arm minus the reference at the last visit as
#    L %*% coef(fit) with L from model.matrix on a reference grid (with arm x visit and
#    baseline x visit terms the difference does not depend on the baseline value); model-based
#    SE sqrt(L V L').
# 2. ANCOVA at the last visit: lm(CHG ~ arm + BASE): estimate, SE, p of each arm term.
# 3. adam2 time to flare: survival::coxph(Surv(time, event) ~ arm, ties = "efron") HR, Wald 95% CI
#    and p; survdiff chi-square and p.

suppressPackageStartupMessages({
  library(nlme)
  library(survival)
})

dir <- "tests/fixtures/acceptance_data"
rd <- function(f) read.csv(file.path(dir, f), stringsAsFactors = FALSE, na.strings = c("", "NA"))

mmrm_contrasts <- function(d, ref, visits) {
  d$visit <- factor(d$AVISITN, levels = visits)
  d$arm <- relevel(factor(d$arm), ref = ref)
  d$vnum <- as.integer(d$visit)
  d <- d[order(d$USUBJID, d$vnum), ]
  # nlme's default nlminb stops short of the REML maximum on dose4 (logLik -1135.39355617 vs
  # -1135.39355613 by BFGS; the Drug 10 mg contrast moves by 8e-6): both optimisers are run and
  # the fit with the larger REML log-likelihood is kept.
  fits <- lapply(c("nlminb", "optim"), function(o) {
    gls(CHG ~ visit * arm + visit * BASE, data = d,
        correlation = corSymm(form = ~ vnum | USUBJID),
        weights = varIdent(form = ~ 1 | visit), method = "REML",
        control = glsControl(maxIter = 500, msMaxIter = 500, tolerance = 1e-12, msTol = 1e-12,
                             opt = o, optimMethod = "BFGS"))
  })
  fit <- fits[[which.max(sapply(fits, function(f) as.numeric(logLik(f))))]]
  last <- visits[length(visits)]
  arms <- setdiff(levels(d$arm), ref)
  mb <- mean(d$BASE)
  grid <- expand.grid(visit = factor(last, levels = visits), arm = factor(levels(d$arm), levels = levels(d$arm)), BASE = mb)
  X <- model.matrix(~ visit * arm + visit * BASE, grid)
  rownames(X) <- as.character(grid$arm)
  out <- list()
  for (a in arms) {
    L <- X[a, , drop = FALSE] - X[ref, , drop = FALSE]
    est <- as.numeric(L %*% coef(fit))
    se <- sqrt(as.numeric(L %*% vcov(fit) %*% t(L)))
    out[[a]] <- c(estimate = est, se = se)
  }
  out
}

ancova <- function(d, ref) {
  d$arm <- relevel(factor(d$arm), ref = ref)
  fit <- lm(CHG ~ arm + BASE, data = d)
  s <- summary(fit)$coefficients
  out <- list()
  for (a in setdiff(levels(d$arm), ref)) {
    k <- paste0("arm", a)
    out[[a]] <- c(estimate = s[k, 1], se = s[k, 2], p = s[k, 4])
  }
  out
}

# --- adam2
adsl <- rd("adam2_adsl.csv")
eff <- rd("adam2_adeff.csv")
tte <- rd("adam2_adtte.csv")
fas <- adsl[adsl$FASFL == "Y", c("USUBJID", "TRT01A")]
names(fas)[2] <- "arm"
e <- merge(eff, fas, by = "USUBJID")
e <- e[e$PARAMCD == "ITCHNRS" & e$ANL01FL %in% "Y" & !grepl("^Unsch", e$AVISIT) &
         e$AVISITN %in% c(20, 30, 40) & !is.na(e$CHG) & !is.na(e$BASE), ]
adam2_mmrm <- mmrm_contrasts(e, "Vehicle", c(20, 30, 40))
t2 <- merge(tte[tte$PARAMCD == "TTFLARE", ], fas, by = "USUBJID")
t2$arm <- relevel(factor(t2$arm), ref = "Vehicle")
cx <- coxph(Surv(AVAL, 1 - CNSR) ~ arm, data = t2, ties = "efron")
ci <- exp(confint(cx))
sd <- survdiff(Surv(AVAL, 1 - CNSR) ~ arm, data = t2)
adam2_cox <- c(hr = exp(coef(cx))[[1]], ci_low = ci[1, 1], ci_high = ci[1, 2],
               p = summary(cx)$coefficients[1, 5])
adam2_logrank <- c(chisq = sd$chisq, p = pchisq(sd$chisq, 1, lower.tail = FALSE))

# --- dose4
adsl4 <- rd("dose4_adsl.csv")
vs <- rd("dose4_advs.csv")
itt <- adsl4[adsl4$ITTFL == "Y", c("USUBJID", "TRT01P")]
names(itt)[2] <- "arm"
v <- merge(vs, itt, by = "USUBJID")
v <- v[v$PARAMCD == "SBP" & v$AVISITN %in% c(4, 8, 12) & !is.na(v$CHG) & !is.na(v$BASE), ]
dose4_mmrm <- mmrm_contrasts(v, "Placebo", c(4, 8, 12))
dose4_ancova <- ancova(v[v$AVISITN == 12, ], "Placebo")

# --- write the fixture module
num <- function(x) formatC(x, digits = 17, format = "g")
dict <- function(lst) {
  items <- vapply(names(lst), function(k) {
    v <- lst[[k]]
    inner <- paste(sprintf('"%s": %s', names(v), num(v)), collapse = ", ")
    sprintf('    "%s": {%s},', k, inner)
  }, "")
  paste(c("{", items, "}"), collapse = "\n")
}
flat <- function(v) paste0("{", paste(sprintf('"%s": %s', names(v), num(v)), collapse = ", "), "}")
lines <- c(
  '"""Reference values for tests/test_acceptance_trials.py. DO NOT EDIT.',
  "",
  sprintf("Written by tests/reference/acceptance_trials.R with %s (nlme %s, survival %s).",
          R.version.string, packageVersion("nlme"), packageVersion("survival")),
  '"""',
  "",
  paste("ADAM2_MMRM_WEEK12 =", dict(adam2_mmrm)),
  paste("ADAM2_COX =", flat(adam2_cox)),
  paste("ADAM2_LOGRANK =", flat(adam2_logrank)),
  paste("DOSE4_MMRM_WEEK12 =", dict(dose4_mmrm)),
  paste("DOSE4_ANCOVA_WEEK12 =", dict(dose4_ancova)),
  ""
)
writeLines(lines, "tests/fixtures/acceptance_from_r.py")
message("wrote tests/fixtures/acceptance_from_r.py")
